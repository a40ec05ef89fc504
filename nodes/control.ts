/** Entry point of the `control` role (see README, node roles). */
import { runNode } from "./run-node";

void runNode("control");
