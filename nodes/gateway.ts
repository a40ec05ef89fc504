/** Entry point of the `gateway` role (see README, node roles). */
import { runNode } from "./run-node";

void runNode("gateway");
