/** Entry point of the `worker` role (see README, node roles). */
import { runNode } from "./run-node";

void runNode("worker");
