/**
 * One owner per table: each table of lib/db/schema.ts is read and written by one lib folder,
 * whose service alone uses that folder's stores. Other services ask the owner's actions (or
 * listen to its events); other lib folders may import a store's types, never the store.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, importsOf, libModuleOf, tsFilesUnder } from "./source-imports";

interface Owner {
	/** The lib folder whose code alone reads and writes the table. */
	lib: string;
	/** The service that runs that code. */
	service: string;
}

const ACCOUNTS: Owner = { lib: "accounts", service: "accounts" };
const REGISTRY: Owner = { lib: "registry", service: "registry" };
const SCHEDULER: Owner = { lib: "scheduler", service: "scheduler" };
const MONITORING: Owner = { lib: "monitoring", service: "scheduler" };
const EVENTS: Owner = { lib: "domain-events", service: "events" };
const STUDIES: Owner = { lib: "studies", service: "scheduler" };

const OWNERS: Record<string, Owner> = {
	tenants: ACCOUNTS,
	api_keys: ACCOUNTS,
	/** The secret API keys are hashed with. */
	installation_secrets: ACCOUNTS,
	models: REGISTRY,
	model_versions: REGISTRY,
	model_aliases: REGISTRY,
	datasets: REGISTRY,
	deployments: SCHEDULER,
	deployment_replicas: SCHEDULER,
	/** With their checkpoints: the scheduler tells artifact GC which blobs those hold. */
	training_jobs: SCHEDULER,
	/** Hyperparameter studies; their trials are training jobs (the scheduler's table). */
	studies: STUDIES,
	/**
	 * The control plane's leadership lease: the scheduler runs it; the node's wiring hands the
	 * same lease to the artifacts service (as `leadership`), which only asks it.
	 */
	control_leases: SCHEDULER,
	/**
	 * Monitoring: captured predictions, their ground truth and the windows over both. The
	 * scheduler runs lib/monitoring's stores (deployments say what to capture).
	 */
	prediction_captures: MONITORING,
	prediction_feedback: MONITORING,
	monitoring_windows: MONITORING,
	/** Which tenant may name which blob. */
	artifact_owners: { lib: "artifacts", service: "artifacts" },
	/**
	 * Append-only: accounts, registry and scheduler stores write their rows through lib/audit
	 * inside their own transactions (an action call could not join one); the registry serves
	 * `audit.list`.
	 */
	audit_log: { lib: "audit", service: "registry" },
	/** Metering: accounts applies the nodes' flushes and keeps the usage report. */
	usage_hourly: { lib: "metering", service: "accounts" },
	usage_flushes: { lib: "metering", service: "accounts" },
	usage_storage_daily: { lib: "metering", service: "accounts" },
	/** Quotas are set on tenants; other services ask accounts for them. */
	tenant_quotas: { lib: "quotas", service: "accounts" },
	/** An all-in-one node's event log (a fleet's is on NATS JetStream). */
	domain_events: EVENTS,
	webhook_endpoints: EVENTS,
	/** The webhook outbox: its deliveries survive a restart. */
	webhook_deliveries: EVENTS,
	/** Written by the migrator at start, before any service. */
	schema_migrations: { lib: "db", service: "(migrations)" },
};

/** Lib folders any store may use: the database itself, and the audit rows of its transactions. */
const SHARED_LIB = new Set(["db", "audit"]);

const SCHEMA = "lib/db/schema.ts";
const schemaText = fs.readFileSync(path.join(ROOT, SCHEMA), "utf8");
/** Exported table symbol → SQL table name. */
const TABLES = new Map(
	[...schemaText.matchAll(/export const (\w+) = pgTable\(\s*"(\w+)"/g)].map(m => [m[1], m[2]]),
);

const CODE = ["lib", "services", "mixins", "nodes", "scripts", "bench"]
	.filter(dir => fs.existsSync(path.join(ROOT, dir)))
	.flatMap(tsFilesUnder);
const IMPORTS = CODE.flatMap(importsOf);

/** Lib files that import a table of the schema, with the SQL names of those tables. */
const TABLE_FILES = new Map<string, string[]>();
for (const imp of IMPORTS) {
	if (imp.to !== SCHEMA || imp.from.startsWith("lib/db/")) continue;
	const tables = imp.names.filter(name => TABLES.has(name)).map(name => TABLES.get(name)!);
	if (tables.length > 0) TABLE_FILES.set(imp.from, tables);
}

/** The service a file is part of: its own file, or a mixin of its folder under mixins/. */
function serviceOf(file: string): string | null {
	const match =
		/^services\/([\w-]+)\.service\.ts$/.exec(file) ?? /^mixins\/([\w-]+)\//.exec(file);
	return match ? match[1] : null;
}

describe("table owners", () => {
	it("names an owner for every table of the schema", () => {
		expect(TABLES.size).toBeGreaterThan(10);
		expect([...TABLES.values()].sort()).toEqual(Object.keys(OWNERS).sort());
	});

	it("has each table read and written only by its owner's lib folder", () => {
		const strays = [...TABLE_FILES].flatMap(([file, tables]) =>
			tables
				.filter(table => libModuleOf(file) !== OWNERS[table].lib)
				.map(table => `${file} uses ${table} (owner: lib/${OWNERS[table].lib})`),
		);
		expect(strays).toEqual([]);
		// Raw SQL on a table outside its owner (the migrator and migrations aside).
		const rawSql = CODE.filter(file => !file.startsWith("lib/db/")).flatMap(file => {
			const text = fs.readFileSync(path.join(ROOT, file), "utf8");
			return Object.keys(OWNERS)
				.filter(table => OWNERS[table].lib !== libModuleOf(file))
				.filter(table =>
					new RegExp(`\\b(FROM|INTO|UPDATE|JOIN|TABLE)\\s+"?${table}\\b`, "i").test(text),
				)
				.map(table => `${file} queries ${table}`);
		});
		expect(rawSql).toEqual([]);
	});

	it("lets only the owner's service and lib folder use a store (other code may import its types)", () => {
		const ownerOfFile = (file: string): Owner | null => {
			const tables = TABLE_FILES.get(file);
			return tables ? OWNERS[tables[0]] : null;
		};
		const strays = IMPORTS.filter(imp => !imp.typeOnly && imp.to !== null).flatMap(imp => {
			const owner = ownerOfFile(imp.to!);
			if (owner === null) return [];
			const service = serviceOf(imp.from);
			const lib = libModuleOf(imp.from);
			if (service !== null && service === owner.service) return [];
			if (lib !== null && (lib === owner.lib || SHARED_LIB.has(owner.lib))) return [];
			// The node's wiring hands each store to its owner's service factory.
			if (imp.from === "nodes/role-services.ts") return [];
			return [`${imp.from} uses ${imp.to} (owner: the ${owner.service} service)`];
		});
		expect(strays).toEqual([]);
	});
});
