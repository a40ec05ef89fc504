/**
 * The operator REPL's `fleet` commands: who the operator is (an API key, authenticated by
 * `accounts`), which tenant a command acts for (`--tenant`, for an admin tenant's owner), the
 * calls into the fleet, and what is printed — tables, or one `error: …` line.
 */
import type { HealthScore } from "../monitoring/health-score";
import type { JobView } from "../scheduler/job-store";
import type { OptimizationTable } from "../optimization/recommendation";
import type { RequestMeta } from "../accounts/access";
import type { Identity, TenantView } from "../accounts/accounts-store";
import {
	ForbiddenError,
	NotFoundError,
	ServiceNotReadyError,
	UnauthenticatedError,
} from "../errors";
import type { FleetNode } from "../fleet/node-inventory";
import { ALL_OF_THE_FLEET, type FleetViewer } from "../fleet/node-view";
import type { ModelView } from "../registry/model-store";
import type { Page } from "../registry/registry-scope";
import type { VersionView } from "../registry/version-store";
import { routingTableFor, type RoutingTable } from "../routing/routing-table";
import type { CreateDeploymentParams } from "../scheduler/deployment-spec";
import type { DeploymentView } from "../scheduler/deployment-store";
import { FLEET_USAGE, parseFleetCommand, type FleetCommand } from "./command-line";
import { errorLine } from "./error-line";
import {
	deploymentsTable,
	healthTable,
	jobsTable,
	studiesTable,
	type StudyListItem,
	type HealthRow,
	modelsTable,
	nodesTable,
	optimizationsTable,
	placementsTable,
	predictionLines,
	readJobs,
	type ModelWithVersions,
	type PredictionAnswer,
} from "./fleet-tables";

/** An answer from the fleet and the meta that came back with it (`servedBy` of a prediction). */
export interface FleetAnswer {
	value: unknown;
	meta: Record<string, unknown>;
}

/** How the session reaches the fleet; nodes/repl.ts gives a broker, tests a fake. */
export interface FleetClient {
	/** Calls an action somewhere in the fleet, with `meta` as the call's ctx.meta. */
	call(action: string, params: Record<string, unknown>, meta: RequestMeta): Promise<FleetAnswer>;
	/** Whether some available node offers the action now. */
	has(action: string): boolean;
	/** Hands the scheduler's routing table to this process's router before a prediction. */
	useRoutingTable(table: RoutingTable): void;
}

export const ACTIONS = {
	authenticate: "accounts.authenticate",
	tenantsList: "accounts.tenants.list",
	tenantsActFor: "accounts.tenants.actFor",
	nodes: "scheduler.nodes",
	nodesForget: "scheduler.nodes.forget",
	placements: "scheduler.placements",
	modelsList: "registry.models.list",
	versionsList: "registry.versions.list",
	deploymentsCreate: "scheduler.deployments.create",
	deploymentsScale: "scheduler.deployments.scale",
	deploymentsDelete: "scheduler.deployments.delete",
	infer: "predictor.infer",
	jobsList: "scheduler.jobs.list",
	studiesList: "scheduler.studies.list",
	jobsOptimize: "scheduler.jobs.optimize",
	jobsOptimizations: "scheduler.jobs.optimizations",
	deploymentsList: "scheduler.deployments.list",
	health: "scheduler.monitoring.health",
} as const;

/** Shown by `fleet jobs` until a node of the fleet offers `scheduler.jobs.list`. */
export const NO_TRAINING = "training is not available in this fleet yet";

/** How many models `fleet models` lists, and how many versions of each. */
const MODELS_SHOWN = 100;
const VERSIONS_SHOWN = 3;

/** What `accounts.authenticate` answers: the key's identity, and that identity signed for the fleet. */
export interface SessionIdentity extends Identity {
	/** Sent as ctx.meta.identity with every call: the fleet believes only signed identities. */
	token: string;
	/** When the token expires, ms since the epoch; the session authenticates again before. */
	tokenExpiresAt: number;
}

/** How long before its expiry a token is renewed, ms. */
const RENEW_BEFORE_MS = 60_000;

export class FleetSession {
	private identity: SessionIdentity | null = null;
	/** The key logged in with, to renew the signed identity before it expires. */
	private key: string | null = null;

	constructor(
		private readonly client: FleetClient,
		private readonly print: (line: string) => void,
		private readonly now: () => number = () => Date.now(),
	) {}

	/**
	 * Runs one `fleet …` line (or a command already read). Never throws: a failure prints one
	 * `error: …` line. Resolves true when the command succeeded.
	 */
	async run(input: string | FleetCommand): Promise<boolean> {
		try {
			await this.execute(typeof input === "string" ? parseFleetCommand(input) : input);
			return true;
		} catch (err) {
			this.print(errorLine(err));
			return false;
		}
	}

	/** Authenticates a key and acts as its identity from now on. */
	async login(key: string): Promise<Identity> {
		const identity = (await this.ask(ACTIONS.authenticate, { key }, {})) as SessionIdentity;
		this.identity = identity;
		this.key = key;
		return identity;
	}

	/**
	 * The session's signed identity, renewed when it is about to expire; null before any login.
	 * The REPL's raw `call` sends it too (nodes/repl.ts).
	 */
	async token(): Promise<string | null> {
		if (this.identity === null) return null;
		return (await this.freshIdentity()).token;
	}

	private async freshIdentity(): Promise<SessionIdentity> {
		const id = this.identity;
		if (id === null || this.key === null) {
			throw new UnauthenticatedError(
				"No API key: start the REPL with MODELFLEET_API_KEY=<key>, or run 'fleet login <api-key>'.",
			);
		}
		if (id.tokenExpiresAt - this.now() > RENEW_BEFORE_MS) return id;
		await this.login(this.key);
		return this.identity ?? id;
	}

	/** Long because it is one switch over the commands, each case a call and a print. */
	async execute(command: FleetCommand): Promise<void> {
		switch (command.kind) {
			case "help":
				this.print("Commands:");
				for (const usage of Object.values(FLEET_USAGE)) this.print(`  ${usage}`);
				return;
			case "login":
				await this.login(command.key);
				this.print(this.whoami());
				return;
			case "whoami":
				this.print(this.whoami());
				return;
			case "nodes":
				return this.nodes();
			case "forget": {
				// Fleet-wide: only an admin tenant's owner may (the scheduler checks).
				const { forgotten } = (await this.ask(
					ACTIONS.nodesForget,
					{ id: command.node },
					await this.ownMeta(),
				)) as { forgotten: string };
				this.print(`forgot node ${forgotten}: no node lists it any more.`);
				return;
			}
			case "placements":
				return this.placements();
			case "models":
				return this.models(await this.metaFor(command.tenant));
			case "deploy": {
				const params: CreateDeploymentParams = {
					model: command.model,
					...(command.replicas !== undefined && { replicas: command.replicas }),
				};
				if (command.gpu || command.memoryBytes !== undefined) {
					params.resources = {
						...(command.gpu && { gpus: 1 }),
						...(command.memoryBytes !== undefined && {
							memoryBytes: command.memoryBytes,
						}),
					};
				}
				const meta = await this.metaFor(command.tenant);
				const created = (await this.ask(
					ACTIONS.deploymentsCreate,
					{ ...params },
					meta,
				)) as DeploymentView;
				this.lines(deploymentsTable([created]));
				return;
			}
			case "scale": {
				const meta = await this.metaFor(command.tenant);
				const scaled = (await this.ask(
					ACTIONS.deploymentsScale,
					{ model: command.model, replicas: command.replicas },
					meta,
				)) as DeploymentView;
				this.lines(deploymentsTable([scaled]));
				return;
			}
			case "undeploy": {
				const meta = await this.metaFor(command.tenant);
				const { deleted } = (await this.ask(
					ACTIONS.deploymentsDelete,
					{ model: command.model },
					meta,
				)) as { deleted: string };
				this.print(`undeployed ${deleted}.`);
				return;
			}
			case "predict":
				return this.predict(command.model, command.request, command.tenant);
			case "jobs":
				return this.jobs(command.tenant);
			case "studies":
				return this.studies(command.tenant);
			case "optimize": {
				const job = (await this.ask(
					ACTIONS.jobsOptimize,
					{
						model: command.model,
						version: command.version,
						recipe: command.recipe,
						...(command.params !== undefined && { params: command.params }),
						...(command.dataset !== undefined && { dataset: command.dataset }),
						...(command.labelColumn !== undefined && {
							labelColumn: command.labelColumn,
						}),
						...(command.features !== undefined && { features: command.features }),
					},
					await this.metaFor(command.tenant),
				)) as JobView;
				this.print(
					`queued optimization job ${job.id} (${command.recipe} of ${command.model}@${command.version}); 'fleet jobs' follows it.`,
				);
				return;
			}
			case "optimizations": {
				const table = (await this.ask(
					ACTIONS.jobsOptimizations,
					{ model: command.model, version: command.version },
					await this.metaFor(command.tenant),
				)) as OptimizationTable;
				if (table.optimizations.length === 0) {
					this.print(`no optimizations of ${command.model}@${command.version} yet.`);
					return;
				}
				this.lines(optimizationsTable(table));
				return;
			}
			case "health":
				return this.health(command.tenant);
		}
	}

	private whoami(): string {
		const id = this.identity;
		if (id === null) return "not logged in: run 'fleet login <api-key>'.";
		return `logged in as ${id.role} of tenant '${id.tenantName}' (key ${id.keyId}).`;
	}

	private async nodes(): Promise<void> {
		// The scheduler shows the key's own models unless it is an admin's.
		const meta = await this.ownMeta();
		const [nodes, placements, viewer] = await Promise.all([
			this.ask(ACTIONS.nodes, {}, meta) as Promise<FleetNode[]>,
			this.ask(ACTIONS.placements, {}, meta) as Promise<RoutingTable>,
			this.viewer(),
		]);
		const table = routingTableFor(placements, viewer);
		if (nodes.length === 0) {
			this.print("no modelfleet nodes in this namespace.");
			return;
		}
		this.lines(nodesTable(nodes, table));
	}

	private async placements(): Promise<void> {
		const table = routingTableFor(
			(await this.ask(ACTIONS.placements, {}, await this.ownMeta())) as RoutingTable,
			await this.viewer(),
		);
		if (table.deployments.length === 0) {
			this.print("no deployments.");
			return;
		}
		const names = await this.tenantNames();
		this.lines(placementsTable(table.deployments, id => names.get(id) ?? id));
	}

	/**
	 * Whose deployments and loaded models the session shows: every tenant's for an admin
	 * tenant's owner, else its own.
	 */
	private async viewer(): Promise<FleetViewer> {
		const id = this.identity;
		if (id === null) return ALL_OF_THE_FLEET;
		if (id.role === "owner" && this.client.has(ACTIONS.tenantsList)) {
			try {
				await this.tenants(await this.ownMeta());
				return ALL_OF_THE_FLEET;
			} catch {
				// Not an admin tenant.
			}
		}
		return { all: false, tenant: id.tenant };
	}

	/** Tenant IDs → names: every tenant for an admin tenant's owner, else the session's own. */
	private async tenantNames(): Promise<Map<string, string>> {
		const names = new Map<string, string>();
		const id = this.identity;
		if (id === null) return names;
		names.set(id.tenant, id.tenantName);
		if (id.role !== "owner" || !this.client.has(ACTIONS.tenantsList)) return names;
		try {
			for (const t of await this.tenants(await this.ownMeta())) names.set(t.id, t.name);
		} catch {
			// Not an admin tenant: its own name is all this key may know.
		}
		return names;
	}

	private async models(meta: RequestMeta): Promise<void> {
		const page = (await this.ask(
			ACTIONS.modelsList,
			{ limit: MODELS_SHOWN },
			meta,
		)) as Page<ModelView>;
		if (page.items.length === 0) {
			this.print("no models.");
			return;
		}
		const rows: ModelWithVersions[] = await Promise.all(
			page.items.map(async model => {
				try {
					const versions = (await this.ask(
						ACTIONS.versionsList,
						{ model: model.name, limit: VERSIONS_SHOWN },
						meta,
					)) as Page<VersionView>;
					return { model, versions: versions.items };
				} catch {
					return { model, versions: null };
				}
			}),
		);
		this.lines(modelsTable(rows));
		if (page.nextCursor !== null) this.print(`(the first ${MODELS_SHOWN} models shown)`);
	}

	private async predict(
		model: string,
		request: Record<string, unknown>,
		tenant: string | undefined,
	): Promise<void> {
		const meta = await this.metaFor(tenant);
		// A fresh routing table: a model's deployment decides which version answers.
		if (this.client.has(ACTIONS.placements)) {
			this.client.useRoutingTable(
				(await this.ask(ACTIONS.placements, {}, meta)) as RoutingTable,
			);
		}
		const { value, meta: back } = await this.callFleet(
			ACTIONS.infer,
			{ ...request, model },
			meta,
		);
		const servedBy = typeof back.servedBy === "string" ? back.servedBy : null;
		this.lines(predictionLines(value as PredictionAnswer, servedBy));
	}

	private async jobs(tenant: string | undefined): Promise<void> {
		if (!this.client.has(ACTIONS.jobsList)) {
			this.print(NO_TRAINING);
			return;
		}
		const answer = (await this.ask(ACTIONS.jobsList, {}, await this.metaFor(tenant))) as {
			items: JobView[];
		};
		const jobs = readJobs(answer);
		if (jobs.length === 0) {
			this.print("no training jobs.");
			return;
		}
		this.lines(jobsTable(jobs));
	}

	/** `fleet studies`: the tenant's studies with their trials, epochs and best trial. */
	private async studies(tenant: string | undefined): Promise<void> {
		if (!this.client.has(ACTIONS.studiesList)) {
			this.print(NO_TRAINING);
			return;
		}
		const answer = (await this.ask(ACTIONS.studiesList, {}, await this.metaFor(tenant))) as {
			items: StudyListItem[];
		};
		if (answer.items.length === 0) {
			this.print("no studies.");
			return;
		}
		this.lines(studiesTable(answer.items));
	}

	/** `fleet health`: every deployment of the tenant with its latest health score. */
	private async health(tenant: string | undefined): Promise<void> {
		const meta = await this.metaFor(tenant);
		const { items } = (await this.ask(ACTIONS.deploymentsList, { limit: 100 }, meta)) as {
			items: { model: string }[];
		};
		if (items.length === 0) {
			this.print("no deployments.");
			return;
		}
		const rows: HealthRow[] = [];
		for (const { model } of items) {
			const health = (await this.ask(ACTIONS.health, { model }, meta)) as HealthScore | null;
			rows.push({ model, health });
		}
		this.lines(healthTable(rows));
	}

	private lines(lines: readonly string[]): void {
		for (const line of lines) this.print(line);
	}

	/** The ctx.meta of the session's own calls: its identity, signed (renewed when due). */
	private async ownMeta(): Promise<RequestMeta> {
		const id = await this.freshIdentity();
		return { tenant: id.tenant, role: id.role, keyId: id.keyId, identity: id.token };
	}

	/**
	 * The ctx.meta of a tenant-scoped call: the session's own tenant, or with `--tenant` another
	 * one, which only an admin tenant's owner may act for (accounts signs that identity).
	 */
	async metaFor(tenant: string | undefined): Promise<RequestMeta> {
		const own = await this.ownMeta();
		const id = await this.freshIdentity();
		if (tenant === undefined || tenant === id.tenantName) return own;
		const refuse = () =>
			new ForbiddenError(id.role, `act for tenant '${tenant}' (--tenant)`, [
				"owner of an admin tenant",
			]);
		if (id.role !== "owner") throw refuse();
		let tenants: TenantView[];
		try {
			tenants = await this.tenants(own);
		} catch (err) {
			if ((err as { code?: unknown }).code === 403) throw refuse();
			throw err;
		}
		const found = tenants.find(t => t.name === tenant);
		if (!found) throw new NotFoundError("tenant", tenant);
		const { token } = (await this.ask(ACTIONS.tenantsActFor, { id: found.id }, own)) as {
			token: string;
		};
		return { tenant: found.id, role: "owner", keyId: id.keyId, identity: token };
	}

	private async tenants(meta: RequestMeta): Promise<TenantView[]> {
		return (await this.ask(ACTIONS.tenantsList, {}, meta)) as TenantView[];
	}

	/** The answer's value; the fleet's own shapes are trusted (they are this code base's types). */
	private async ask(
		action: string,
		params: Record<string, unknown>,
		meta: RequestMeta,
	): Promise<unknown> {
		return (await this.callFleet(action, params, meta)).value;
	}

	private callFleet(
		action: string,
		params: Record<string, unknown>,
		meta: RequestMeta,
	): Promise<FleetAnswer> {
		if (!this.client.has(action)) {
			return Promise.reject(new ServiceNotReadyError([action.split(".")[0]]));
		}
		return this.client.call(action, params, meta);
	}
}
