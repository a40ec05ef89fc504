#!/usr/bin/env node
/**
 * `modelfleet <role>` — starts a node of that role (npm start runs all-in-one;
 * `npm run node -- worker` from sources; `modelfleet worker` when installed).
 * `modelfleet repl` opens the operator REPL on a running fleet instead.
 */
import { NODE_ROLES, isNodeRole } from "../lib/fleet/node-role";
import { runRepl } from "./repl";
import { runNode } from "./run-node";

const USAGE = `Usage: modelfleet <role>
       modelfleet repl

Roles:
  all-in-one  every service in one process (the default for npm start)
  gateway     HTTP API (api)
  control     registry, artifacts, scheduler — next to PostgreSQL
  worker      predictor, trainer — CPU or GPU hosts

repl          the operator REPL: joins the fleet given by TRANSPORTER and
              MODELFLEET_NAMESPACE, acts with MODELFLEET_API_KEY ("fleet help" inside)

Configuration is read from the environment: see README.md, "Environment".`;

const role = process.argv[2] ?? "all-in-one";
if (role === "--help" || role === "-h" || role === "help") {
	console.log(USAGE);
} else if (role === "repl") {
	void runRepl(process.env);
} else if (!isNodeRole(role)) {
	console.error(`Unknown role "${role}": expected one of ${NODE_ROLES.join(", ")}.\n\n${USAGE}`);
	process.exit(2);
} else {
	void runNode(role);
}
