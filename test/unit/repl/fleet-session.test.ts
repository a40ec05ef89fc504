import type { RequestMeta } from "../../../lib/accounts/access";
import type { Identity } from "../../../lib/accounts/accounts-store";
import {
	ForbiddenError,
	NotFoundError,
	StateConflictError,
	UnauthenticatedError,
} from "../../../lib/errors";
import {
	ACTIONS,
	FleetSession,
	NO_TRAINING,
	type FleetAnswer,
	type FleetClient,
} from "../../../lib/repl/fleet-session";
import type { RoutingTable } from "../../../lib/routing/routing-table";

type Handler = (params: Record<string, unknown>, meta: RequestMeta) => unknown;

interface Call {
	action: string;
	params: Record<string, unknown>;
	meta: RequestMeta;
}

const ADMIN_OWNER: Identity = {
	tenant: "t-default",
	tenantName: "default",
	role: "owner",
	keyId: "k-1",
};

const TABLE: RoutingTable = {
	deployments: [
		{
			deploymentId: "d1",
			tenant: "t-acme",
			model: "mlp",
			traffic: [{ version: "1.0.0", weight: 100 }],
			shadow: null,
			replicas: ["w1"],
		},
	],
};

/** The clock of the sessions and of the fake accounts: moved by tests. */
let now = 1_000_000;
/** How long the fake accounts' tokens last. */
const TOKEN_MS = 5 * 60_000;

/** A fleet of handlers by action name; it records every call. */
class FakeFleet implements FleetClient {
	readonly calls: Call[] = [];
	readonly tables: RoutingTable[] = [];
	readonly handlers = new Map<string, Handler>();
	/** Tokens handed out so far: `signed-<keyId>-<n>`. */
	issued = 0;

	constructor(identity: Identity | null = ADMIN_OWNER) {
		this.handlers.set(ACTIONS.authenticate, ({ key }) => {
			if (key === "mf_good" && identity)
				return {
					...identity,
					token: `signed-${identity.keyId}-${++this.issued}`,
					tokenExpiresAt: now + TOKEN_MS,
				};
			throw new UnauthenticatedError("Unknown API key.");
		});
		this.handlers.set(ACTIONS.tenantsActFor, ({ id }, meta) => {
			if (meta.tenant !== "t-default")
				throw new ForbiddenError("owner", "act for another tenant", [
					"owner of an admin tenant",
				]);
			return { token: `signed-for-${String(id)}`, tokenExpiresAt: now + TOKEN_MS };
		});
		this.handlers.set(ACTIONS.tenantsList, (_p, meta) => {
			if (meta.tenant !== "t-default")
				throw new ForbiddenError("owner", "list tenants", ["owner of an admin tenant"]);
			return [
				{ id: "t-acme", name: "acme", isAdmin: false, createdAt: "" },
				{ id: "t-default", name: "default", isAdmin: true, createdAt: "" },
			];
		});
		this.handlers.set(ACTIONS.placements, () => TABLE);
	}

	async call(
		action: string,
		params: Record<string, unknown>,
		meta: RequestMeta,
	): Promise<FleetAnswer> {
		this.calls.push({ action, params, meta });
		const handler = this.handlers.get(action)!;
		const value = await handler(params, meta);
		return { value, meta: { ...meta, ...(action === ACTIONS.infer && { servedBy: "w1" }) } };
	}

	has(action: string): boolean {
		return this.handlers.has(action);
	}

	useRoutingTable(table: RoutingTable): void {
		this.tables.push(table);
	}

	callsTo(action: string): Call[] {
		return this.calls.filter(c => c.action === action);
	}
}

function session(fleet: FakeFleet): { session: FleetSession; out: string[] } {
	const out: string[] = [];
	return {
		session: new FleetSession(
			fleet,
			line => out.push(line),
			() => now,
		),
		out,
	};
}

/** A logged-in session that has run `fleet optimize …`, and what it sent the scheduler. */
async function afterOptimize(line: string, jobId: string) {
	const fleet = new FakeFleet();
	const { session: s, out } = session(fleet);
	await s.login("mf_good");
	const asked: Record<string, unknown>[] = [];
	fleet.handlers.set(ACTIONS.jobsOptimize, params => {
		asked.push(params);
		return { id: jobId };
	});
	await s.run(line);
	return { fleet, s, out, asked };
}

describe("FleetSession", () => {
	it("asks for a key before a tenant-scoped command, in one line", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.modelsList, () => ({ items: [], nextCursor: null }));
		const { session: s, out } = session(fleet);
		expect(await s.run("fleet models")).toBe(false);
		expect(out).toEqual([
			"error: No API key: start the REPL with MODELFLEET_API_KEY=<key>, or run 'fleet login <api-key>'.",
		]);
		expect(fleet.callsTo(ACTIONS.modelsList)).toEqual([]);
	});

	it("logs in with a key and sends its identity as ctx.meta", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.modelsList, () => ({ items: [], nextCursor: null }));
		const { session: s, out } = session(fleet);
		await s.run("fleet login mf_good");
		await s.run("fleet models");
		expect(out).toEqual(["logged in as owner of tenant 'default' (key k-1).", "no models."]);
		expect(fleet.callsTo(ACTIONS.modelsList)[0].meta).toEqual({
			tenant: "t-default",
			role: "owner",
			keyId: "k-1",
			identity: "signed-k-1-1",
		});
	});

	it("authenticates again when its signed identity is about to expire", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.modelsList, () => ({ items: [], nextCursor: null }));
		const { session: s } = session(fleet);
		await s.login("mf_good");
		expect(await s.token()).toBe("signed-k-1-1");
		now += TOKEN_MS - 30_000;
		await s.run("fleet models");
		expect(fleet.callsTo(ACTIONS.authenticate)).toHaveLength(2);
		expect(fleet.callsTo(ACTIONS.modelsList)[0].meta.identity).toBe("signed-k-1-2");
		expect(await s.token()).toBe("signed-k-1-2");
	});

	it("has no token to send before a login", async () => {
		const { session: s } = session(new FakeFleet());
		expect(await s.token()).toBeNull();
	});

	it("prints a refused login as one line and stays logged out", async () => {
		const { session: s, out } = session(new FakeFleet());
		await s.run("fleet login mf_bad");
		await s.run("fleet whoami");
		expect(out).toEqual([
			"error: Unknown API key.",
			"not logged in: run 'fleet login <api-key>'.",
		]);
	});

	it("acts for another tenant by name when the key is an admin tenant's owner", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.deploymentsScale, ({ model }, meta) => {
			if (meta.tenant !== "t-acme") throw new NotFoundError("deployment", String(model));
			return {
				model,
				traffic: [{ version: "1.0.0", weight: 100 }],
				shadow: null,
				replicas: 3,
				minReplicas: 3,
				maxReplicas: 3,
				autoscaling: null,
				readyReplicas: 1,
				status: "deploying",
				statusReason: null,
				resources: { memoryBytes: null, cpu: 0, gpus: 0, gpuMemoryBytes: 0 },
			};
		});
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		await s.run("fleet scale mlp 3 --tenant acme");
		// Accounts signs the identity of the tenant acted for; the REPL cannot.
		expect(fleet.callsTo(ACTIONS.tenantsActFor)[0]).toMatchObject({
			params: { id: "t-acme" },
			meta: { tenant: "t-default", identity: "signed-k-1-1" },
		});
		expect(fleet.callsTo(ACTIONS.deploymentsScale)[0]).toMatchObject({
			params: { model: "mlp", replicas: 3 },
			meta: { tenant: "t-acme", role: "owner", keyId: "k-1", identity: "signed-for-t-acme" },
		});
		expect(out).toEqual([
			"DEPLOYMENT  VERSIONS    REPLICAS  READY  STATUS     RESOURCES",
			"mlp         1.0.0 100%  3             1  deploying  -",
		]);
	});

	it("refuses --tenant, in one line, for a key that is not an admin tenant's owner", async () => {
		const developer = new FakeFleet({ ...ADMIN_OWNER, role: "developer" });
		const dev = session(developer);
		await dev.session.login("mf_good");
		await dev.session.run("fleet models --tenant acme");
		expect(dev.out).toEqual([
			"error: Role 'developer' may not act for tenant 'acme' (--tenant); it needs one of: owner of an admin tenant.",
		]);
		expect(developer.callsTo(ACTIONS.tenantsList)).toEqual([]);

		const plainOwner = new FakeFleet({
			tenant: "t-acme",
			tenantName: "acme",
			role: "owner",
			keyId: "k-2",
		});
		const owner = session(plainOwner);
		await owner.session.login("mf_good");
		await owner.session.run("fleet models --tenant default");
		expect(owner.out).toEqual([
			"error: Role 'owner' may not act for tenant 'default' (--tenant); it needs one of: owner of an admin tenant.",
		]);
	});

	it("says so when --tenant names no tenant", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.modelsList, () => ({ items: [], nextCursor: null }));
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		await s.run("fleet models --tenant nobody");
		expect(out).toEqual(["error: tenant 'nobody' not found."]);
		expect(fleet.callsTo(ACTIONS.modelsList)).toEqual([]);
	});

	it("deploys with replicas, a GPU and memory as the scheduler's resources", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.deploymentsCreate, params => ({
			model: "mlp",
			traffic: [{ version: "1.0.0", weight: 100 }],
			shadow: null,
			replicas: params.replicas,
			minReplicas: 2,
			maxReplicas: 2,
			autoscaling: null,
			readyReplicas: 0,
			status: "pending",
			statusReason: "no node with a free GPU",
			resources: { memoryBytes: 1024 ** 3, cpu: 0, gpus: 1, gpuMemoryBytes: 0 },
		}));
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		await s.run("fleet deploy mlp@1.0.0 --replicas 2 --gpu --memory 1GiB");
		expect(fleet.callsTo(ACTIONS.deploymentsCreate)[0].params).toEqual({
			model: "mlp@1.0.0",
			replicas: 2,
			resources: { gpus: 1, memoryBytes: 1024 ** 3 },
		});
		expect(out[1]).toBe(
			"mlp         1.0.0 100%  2             0  pending: no node with a free GPU  1 GPU, 1.0 GiB",
		);
	});

	it("routes a prediction with the current placements and prints who answered", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.infer, () => ({
			modelName: "mlp",
			modelVersion: "1.0.0",
			executionProvider: "cpu",
			outputs: [{ name: "y", datatype: "FP32", shape: [1, 1], data: Float32Array.of(0.5) }],
		}));
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		await s.run('fleet predict mlp {"instances": [[1, 2]]}');
		expect(fleet.tables).toEqual([TABLE]);
		expect(fleet.callsTo(ACTIONS.infer)[0].params).toEqual({
			model: "mlp",
			instances: [[1, 2]],
		});
		expect(out).toEqual([
			"mlp@1.0.0 (node w1, cpu)",
			"OUTPUT  DATATYPE  SHAPE   DATA",
			"y       FP32      [1, 1]  [0.5]",
		]);
	});

	it("says training is not there yet, and lists jobs once scheduler.jobs.list exists", async () => {
		const fleet = new FakeFleet();
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		await s.run("fleet jobs");
		expect(out).toEqual([NO_TRAINING]);

		fleet.handlers.set(ACTIONS.jobsList, () => ({
			items: [
				{
					id: "j1",
					model: "mlp",
					state: "running",
					epoch: 2,
					spec: { epochs: 5 },
					progress: [{ epoch: 2, metrics: { loss: 0.5 } }],
					nodeID: "w1",
					waitingReason: null,
				},
			],
		}));
		out.length = 0;
		await s.run("fleet jobs");
		expect(out).toEqual([
			"ID  MODEL  STATE    EPOCH  LOSS  NODE",
			"j1  mlp    running    2/5   0.5  w1",
		]);
	});

	it("queues an optimization and compares the optimizations of a version", async () => {
		const { fleet, s, out, asked } = await afterOptimize(
			"fleet optimize digits@0.1.0 int8-static --params '{calibration: \"percentile\"}'",
			"j9",
		);
		expect(asked).toEqual([
			{
				model: "digits",
				version: "0.1.0",
				recipe: "int8-static",
				params: { calibration: "percentile" },
			},
		]);
		expect(out.at(-1)).toMatch(/queued optimization job j9 \(int8-static of digits@0.1.0\)/);

		fleet.handlers.set(ACTIONS.jobsOptimizations, () => ({
			model: "digits",
			version: "0.1.0",
			recommended: "0.2.0",
			optimizations: [
				{
					version: "0.2.0",
					recipe: "int8-dynamic",
					state: "Validated",
					sizeBytes: 9000,
					sizeRatio: 3.02,
					accuracyDelta: -0.0037,
					argmaxAgreement: 0.9963,
					latencyMsBatch1: 0.021,
					latencyMsBatch64: 0.031,
				},
			],
		}));
		out.length = 0;
		await s.run("fleet optimizations digits@0.1.0");
		expect(out).toEqual([
			"VERSION  RECIPE        STATE      SIZE  ×SMALLER    ACC Δ  ARGMAX   MS@1  MS@64",
			"0.2.0 *  int8-dynamic  Validated  9000      3.02  -0.37pt  0.9963  0.021  0.031",
		]);
	});

	it("sends optimize's dataset, label column and features as the REST body does", async () => {
		const { out, asked } = await afterOptimize(
			"fleet optimize iris@1.0.0 convert --dataset iris@1 --label-column label --features a,b,c,d",
			"j10",
		);
		expect(asked).toEqual([
			{
				model: "iris",
				version: "1.0.0",
				recipe: "convert",
				dataset: "iris@1",
				labelColumn: "label",
				features: ["a", "b", "c", "d"],
			},
		]);
		expect(out.at(-1)).toMatch(/queued optimization job j10 \(convert of iris@1.0.0\)/);
	});

	it("lists studies with their trials, epochs and best trial with fleet studies", async () => {
		const fleet = new FakeFleet();
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		await s.run("fleet studies");
		expect(out).toEqual([NO_TRAINING]);
		fleet.handlers.set(ACTIONS.studiesList, () => ({ items: [] }));
		out.length = 0;
		await s.run("fleet studies");
		expect(out).toEqual(["no studies."]);
		fleet.handlers.set(ACTIONS.studiesList, () => ({
			items: [
				{
					id: "s1",
					name: "lr",
					model: "mlp",
					state: "completed",
					trialsStarted: 24,
					trialsFinished: 24,
					epochsRun: 156,
					spec: {
						budget: { trials: 24 },
						searcher: { type: "asha" },
						objective: { metric: "val_accuracy" },
					},
					best: { trial: 7, value: 0.98, version: "0.3.0" },
				},
			],
		}));
		out.length = 0;
		await s.run("fleet studies");
		expect(out).toEqual([
			"ID  NAME  SEARCHER  STATE        TRIALS  EPOCHS  BEST",
			"s1  lr    asha      completed  24/24/24     156  val_accuracy 0.98 (trial 7, 0.3.0)",
		]);
	});

	it("lists each deployment's health score and parts with fleet health", async () => {
		const fleet = new FakeFleet();
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		fleet.handlers.set(ACTIONS.deploymentsList, () => ({
			items: [{ model: "iris" }, { model: "mlp" }],
		}));
		fleet.handlers.set(ACTIONS.health, ({ model }) =>
			model === "iris"
				? {
						score: 62,
						status: "degraded",
						parts: [
							{ name: "errors", score: 100, weight: 0.3, detail: "" },
							{ name: "latency", score: null, weight: 0.2, detail: "" },
							{ name: "drift", score: 25, weight: 0.25, detail: "" },
							{ name: "accuracy", score: 40.4, weight: 0.25, detail: "" },
						],
					}
				: null,
		);
		await s.run("fleet health");
		expect(out).toEqual([
			"MODEL  SCORE  STATUS         ERRORS  LATENCY  DRIFT  ACCURACY",
			"iris      62  degraded          100        -     25        40",
			"mlp        -  not monitored       -        -      -         -",
		]);
		expect(fleet.callsTo(ACTIONS.health).map(c => c.params)).toEqual([
			{ model: "iris" },
			{ model: "mlp" },
		]);
	});

	it("shows placements with tenant names an admin owner may see", async () => {
		const { session: s, out } = session(new FakeFleet());
		await s.login("mf_good");
		await s.run("fleet placements");
		expect(out).toEqual([
			"DEPLOYMENT  TENANT  VERSIONS    READY  NODES",
			"mlp         acme    1.0.0 100%      1  w1",
		]);
	});

	it("shows a key that is not an admin's only its own tenant's deployments and replicas", async () => {
		const otherOwner: Identity = {
			tenant: "t-other",
			tenantName: "other",
			role: "owner",
			keyId: "k-2",
		};
		const fleet = new FakeFleet(otherOwner);
		fleet.handlers.set(ACTIONS.nodes, () => [
			{
				nodeID: "w1",
				role: "worker",
				available: true,
				unavailableReason: null,
				capacity: { cpus: 2, memoryBytes: 2 ** 30, gpus: [] },
				services: ["predictor"],
				status: null,
			},
		]);
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		await s.run("fleet placements");
		expect(out).toEqual(["no deployments."]);
		out.length = 0;
		await s.run("fleet nodes");
		// The scheduler hears who asks (it filters the models in node status); acme's replica is not counted.
		expect(fleet.callsTo(ACTIONS.nodes)[0].meta).toEqual({
			tenant: "t-other",
			role: "owner",
			keyId: "k-2",
			identity: "signed-k-2-1",
		});
		expect(out[1]).toMatch(/^w1\s+worker\s+2\s+1\.0 GiB\s+-\s+-\s+0\s+up$/);
	});

	it("asks for a key before listing nodes, and names a missing service in one line", async () => {
		const fleet = new FakeFleet();
		const { session: s, out } = session(fleet);
		await s.run("fleet nodes");
		expect(out).toEqual([
			"error: No API key: start the REPL with MODELFLEET_API_KEY=<key>, or run 'fleet login <api-key>'.",
		]);
		out.length = 0;
		await s.login("mf_good");
		await s.run("fleet nodes");
		expect(out).toEqual([
			"error: Not ready: no running instance of scheduler. Start a node whose role runs it (see README, node roles), or retry in a moment.",
		]);
		fleet.handlers.set(ACTIONS.nodes, () => []);
		out.length = 0;
		await s.run("fleet nodes");
		expect(out).toEqual(["no modelfleet nodes in this namespace."]);
	});

	it("undeploys and prints a fleet's refusal as its one line", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.deploymentsDelete, ({ model }) => {
			if (model !== "mlp") throw new NotFoundError("deployment", String(model));
			return { deleted: "mlp" };
		});
		const { session: s, out } = session(fleet);
		await s.login("mf_good");
		expect(await s.run("fleet undeploy mlp")).toBe(true);
		expect(await s.run("fleet undeploy x")).toBe(false);
		expect(out).toEqual(["undeployed mlp.", "error: deployment 'x' not found."]);
	});

	it("forgets a lost node as the logged-in key, and prints a refusal as its one line", async () => {
		const fleet = new FakeFleet();
		fleet.handlers.set(ACTIONS.nodesForget, ({ id }) => {
			if (id === "worker-up") throw new StateConflictError("Node 'worker-up' is available.");
			return { forgotten: id };
		});
		const { session: s, out } = session(fleet);
		expect(await s.run("fleet forget worker-1")).toBe(false);
		expect(fleet.callsTo(ACTIONS.nodesForget)).toEqual([]);
		await s.login("mf_good");
		expect(await s.run("fleet forget worker-1")).toBe(true);
		expect(await s.run("fleet forget worker-up")).toBe(false);
		expect(fleet.callsTo(ACTIONS.nodesForget)[0]).toMatchObject({
			params: { id: "worker-1" },
			meta: { tenant: "t-default", role: "owner", keyId: "k-1" },
		});
		expect(out.slice(1)).toEqual([
			"forgot node worker-1: no node lists it any more.",
			"error: Node 'worker-up' is available.",
		]);
	});
});
