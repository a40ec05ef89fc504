/** Entry point of the `all-in-one` role (see README, node roles). */
import { runNode } from "./run-node";

void runNode("all-in-one");
