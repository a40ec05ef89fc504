#!/usr/bin/env node
/**
 * `modelfleet <role>` — starts a node of that role (npm start runs all-in-one;
 * `npm run node -- worker` from sources; `modelfleet worker` when installed).
 * `modelfleet repl` opens the operator REPL on a running fleet instead;
 * `modelfleet rotate-key` moves a stopped node's blobs to a new encryption key;
 * `modelfleet migrate-artifacts` copies the artifact store to another backend.
 * `modelfleet login|models|datasets|train|deploy|…` are the command-line client
 * (nodes/client-cli, docs/cli.md).
 *
 * Each branch requires its module when taken: a client command then starts in a fraction of
 * the time, without loading Moleculer and the services.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import { NODE_ROLES, isNodeRole } from "../lib/fleet/node-role";

const runMigrateArtifacts: typeof import("./migrate-artifacts").runMigrateArtifacts = (...args) =>
	(require("./migrate-artifacts") as typeof import("./migrate-artifacts")).runMigrateArtifacts(
		...args,
	);
const runRepl: typeof import("./repl").runRepl = (...args) =>
	(require("./repl") as typeof import("./repl")).runRepl(...args);
const runRotateKey: typeof import("./rotate-key").runRotateKey = (...args) =>
	(require("./rotate-key") as typeof import("./rotate-key")).runRotateKey(...args);
const runNode: typeof import("./run-node").runNode = (...args) =>
	(require("./run-node") as typeof import("./run-node")).runNode(...args);

const USAGE = `Usage: modelfleet <role>
       modelfleet <command> [options]   (the client: modelfleet --help-client)
       modelfleet repl
       modelfleet rotate-key
       modelfleet migrate-artifacts --from <store> --to <store>

Roles:
  all-in-one  every service in one process (the default for npm start)
  gateway     HTTP API (api)
  control     accounts, registry, artifacts, scheduler — next to PostgreSQL
  worker      predictor, trainer — CPU or GPU hosts
  serving     HTTP API and predictor in one process (no hop between them)

repl          the operator REPL: joins the fleet given by TRANSPORTER and
              MODELFLEET_NAMESPACE, acts with MODELFLEET_API_KEY ("fleet help" inside)

rotate-key    with the node stopped: re-wraps every blob under MODELFLEET_DATA_DIR
              from MODELFLEET_ENCRYPTION_KEY to MODELFLEET_ENCRYPTION_KEY_NEW (without
              it, seals blobs stored before the key was set); then restart with the new key

migrate-artifacts  with the control nodes stopped: copies every blob from one store to
              another (local, nats or s3://bucket/prefix, as MODELFLEET_ARTIFACTS), each
              verified against its sha256; then restart with the new MODELFLEET_ARTIFACTS

Client commands (each with --help; docs/cli.md):
  login  models list|show|push|transition|alias  datasets push|list  train [--follow]
  deploy  deployments  canary  scale  rollback  promote  predict  nodes  usage  --version

Configuration is read from the environment: see docs/configuration.md.`;

const CLIENT_COMMANDS = new Set(
	"login models datasets train deploy deployments canary scale rollback promote predict nodes usage --version -V --help-client".split(
		" ",
	),
);

const role = process.argv[2] ?? "all-in-one";
if (CLIENT_COMMANDS.has(role)) {
	const { runClientCli } =
		require("./client-cli/program") as typeof import("./client-cli/program");
	const argv = role === "--help-client" ? ["--help"] : process.argv.slice(2);
	// Exits at once: an idle keep-alive socket of fetch must not hold the process open.
	void runClientCli(argv, process.env).then(code => process.exit(code));
} else if (role === "--help" || role === "-h" || role === "help") {
	console.log(USAGE);
} else if (role === "repl") {
	void runRepl(process.env);
} else if (role === "rotate-key") {
	void runRotateKey(process.env);
} else if (role === "migrate-artifacts") {
	void runMigrateArtifacts(process.env, process.argv.slice(3));
} else if (!isNodeRole(role)) {
	console.error(`Unknown role "${role}": expected one of ${NODE_ROLES.join(", ")}.\n\n${USAGE}`);
	process.exit(2);
} else {
	void runNode(role);
}
