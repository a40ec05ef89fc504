import { resolveMonitoring } from "../../../lib/monitoring/monitoring-spec";
import type { RoutingTable } from "../../../lib/routing/routing-table";
import type {
	DeploymentRecord,
	DeploymentStatus,
	PlacedReplicaRow,
} from "../../../lib/scheduler/deployment-store";
import {
	Reconciler,
	estimateReplicaMemory,
	type AutoscalingTriggered,
	type ReconcilerStore,
	type ServingNode,
} from "../../../lib/scheduler/reconciler";

const GiB = 1024 ** 3;

function deployment(over: Partial<DeploymentRecord> = {}): DeploymentRecord {
	return {
		id: "d1",
		tenantId: "t1",
		modelId: "m1",
		model: "mlp",
		replicas: 2,
		minReplicas: 2,
		maxReplicas: 2,
		resources: { memoryBytes: GiB, cpu: 0, gpus: 0, gpuMemoryBytes: 0 },
		batching: {},
		autoscaling: null,
		traffic: [{ versionId: "v1", version: "1.0.0", weight: 100 }],
		shadow: null,
		previousTraffic: null,
		monitoring: resolveMonitoring(undefined),
		status: "deploying",
		statusReason: null,
		createdAt: new Date(0).toISOString(),
		updatedAt: new Date(0).toISOString(),
		...over,
	};
}

function node(nodeID: string, over: Partial<ServingNode> = {}): ServingNode {
	return {
		nodeID,
		available: true,
		cpus: 2,
		modelMemoryBytes: 4 * GiB,
		gpus: [],
		activeByKey: new Map(),
		...over,
	};
}

class MemoryStore implements ReconcilerStore {
	rows: PlacedReplicaRow[] = [];
	status = new Map<string, { status: DeploymentStatus; reason: string | null }>();
	constructor(public deployments: DeploymentRecord[]) {}
	async all() {
		return this.deployments.map(d => ({ ...d, ...this.statusOf(d.id) }));
	}
	private statusOf(id: string) {
		const s = this.status.get(id);
		return s ? { status: s.status, statusReason: s.reason } : {};
	}
	async replicas() {
		return this.rows.map(r => ({ ...r }));
	}
	async setReplicas(id: string, replicas: number) {
		this.deployments = this.deployments.map(d => (d.id === id ? { ...d, replicas } : d));
	}
	async setStatus(id: string, status: DeploymentStatus, reason: string | null) {
		this.status.set(id, { status, reason });
	}
	async addReplica(deploymentId: string, nodeID: string, gpuIndex: number | null) {
		this.rows.push({ deploymentId, nodeID, gpuIndex, state: "loading" });
		return true;
	}
	async setReplicaState(deploymentId: string, nodeID: string, state: "loading" | "ready") {
		for (const r of this.rows) {
			if (r.deploymentId === deploymentId && r.nodeID === nodeID) r.state = state;
		}
	}
	async removeReplica(deploymentId: string, nodeID: string) {
		this.rows = this.rows.filter(
			r => !(r.deploymentId === deploymentId && r.nodeID === nodeID),
		);
	}
}

async function settle(reconciler: Reconciler): Promise<void> {
	for (let i = 0; i < 50 && reconciler.busy; i++) await new Promise(r => setTimeout(r, 1));
}

function harness(
	store: MemoryStore,
	nodes: () => ServingNode[],
	failOn: string[] = [],
	callers: () => ReadonlyMap<string, number> = () => new Map(),
) {
	const loads: string[] = [];
	const unloads: string[] = [];
	const tables: RoutingTable[] = [];
	const scaled: AutoscalingTriggered[] = [];
	let now = 1_000_000;
	const reconciler = new Reconciler({
		store,
		nodes,
		callerOngoing: callers,
		load: async (nodeID, d) => {
			loads.push(`${d.model}@${nodeID}`);
			if (failOn.includes(nodeID)) throw new Error("out of memory");
		},
		unload: async (nodeID, d) => {
			unloads.push(`${d.model}@${nodeID}`);
		},
		publish: table => tables.push(table),
		autoscaled: e => scaled.push(e),
		now: () => now,
		warn: () => undefined,
	});
	return {
		reconciler,
		loads,
		unloads,
		tables,
		scaled,
		advance: (ms: number) => (now += ms),
	};
}

describe("Reconciler", () => {
	it("places replicas on distinct nodes, loads them, marks them ready and publishes the routes", async () => {
		const store = new MemoryStore([deployment()]);
		const h = harness(store, () => [node("a"), node("b"), node("c")]);
		await h.reconciler.trigger();
		await settle(h.reconciler);
		expect(h.loads.sort()).toEqual(["mlp@a", "mlp@b"]);
		expect(store.rows.map(r => `${r.nodeID}:${r.state}`).sort()).toEqual([
			"a:ready",
			"b:ready",
		]);
		await h.reconciler.trigger();
		expect(store.status.get("d1")).toEqual({ status: "running", reason: null });
		expect(h.tables.at(-1)).toEqual({
			deployments: [
				{
					deploymentId: "d1",
					tenant: "t1",
					model: "mlp",
					traffic: [{ version: "1.0.0", weight: 100 }],
					shadow: null,
					captureRate: 0,
					replicas: ["a", "b"],
				},
			],
		});
	});

	it("re-places the replica of a lost node and unpins nothing there", async () => {
		const store = new MemoryStore([deployment()]);
		let nodes = [node("a"), node("b"), node("c")];
		const h = harness(store, () => nodes);
		await h.reconciler.trigger();
		await settle(h.reconciler);
		nodes = [node("a", { available: false }), node("b"), node("c")];
		await h.reconciler.trigger();
		await settle(h.reconciler);
		expect(store.rows.map(r => r.nodeID).sort()).toEqual(["b", "c"]);
		expect(h.unloads).toEqual([]);
		expect(h.tables.at(-1)?.deployments[0].replicas).toEqual(["b", "c"]);
	});

	it("unloads a deleted deployment's replicas on the nodes still up, once", async () => {
		const store = new MemoryStore([deployment()]);
		let nodes = [node("a"), node("b")];
		const h = harness(store, () => nodes);
		await h.reconciler.trigger();
		await settle(h.reconciler);
		expect(h.unloads).toEqual([]);
		// Deleting a deployment deletes its replica rows with it.
		store.deployments = [];
		store.rows = [];
		nodes = [node("a", { available: false }), node("b")];
		await h.reconciler.trigger();
		await h.reconciler.trigger();
		expect(h.unloads).toEqual(["mlp@b"]);
		expect(h.tables.at(-1)).toEqual({ deployments: [] });
	});

	it("says why a deployment is pending when nothing fits", async () => {
		const store = new MemoryStore([
			deployment({ resources: { memoryBytes: GiB, cpu: 0, gpus: 1, gpuMemoryBytes: 0 } }),
		]);
		const h = harness(store, () => [node("a")]);
		await h.reconciler.trigger();
		expect(store.rows).toEqual([]);
		expect(store.status.get("d1")?.status).toBe("pending");
		expect(store.status.get("d1")?.reason).toMatch(/GPU/);
	});

	it("backs off after a failed load instead of retrying in a hot loop, and says why", async () => {
		const store = new MemoryStore([
			deployment({ replicas: 1, minReplicas: 1, maxReplicas: 1 }),
		]);
		const h = harness(store, () => [node("a")], ["a"]);
		await h.reconciler.trigger();
		await settle(h.reconciler);
		expect(h.loads).toEqual(["mlp@a"]);
		expect(store.rows).toEqual([]);
		await h.reconciler.trigger();
		expect(h.loads).toEqual(["mlp@a"]);
		expect(store.status.get("d1")).toEqual({
			status: "pending",
			reason: "loading on a failed: out of memory",
		});
		h.advance(11_000);
		await h.reconciler.trigger();
		await settle(h.reconciler);
		expect(h.loads).toEqual(["mlp@a", "mlp@a"]);
	});

	it("scales out when ongoing requests per replica stay above target, and emits why", async () => {
		const store = new MemoryStore([
			deployment({
				replicas: 1,
				minReplicas: 1,
				maxReplicas: 3,
				autoscaling: { targetOngoingRequests: 2, upscaleDelayS: 1, downscaleDelayS: 5 },
			}),
		]);
		let busy = 0;
		const nodes = () =>
			["a", "b", "c"].map(id =>
				node(id, { activeByKey: new Map([["t1/mlp@1.0.0", id === "a" ? busy : 0]]) }),
			);
		const h = harness(store, nodes);
		await h.reconciler.trigger();
		await settle(h.reconciler);
		busy = 6;
		await h.reconciler.trigger();
		expect(h.scaled).toEqual([]);
		h.advance(1500);
		await h.reconciler.trigger();
		await settle(h.reconciler);
		expect(h.scaled).toEqual([
			expect.objectContaining({
				model: "mlp",
				from: 1,
				to: 3,
				reason: expect.stringMatching(/target 2/),
			}),
		]);
		expect(store.rows).toHaveLength(3);
	});

	it("counts the calls callers have in flight, as Ray Serve does, when the replica itself looks idle", async () => {
		const store = new MemoryStore([
			deployment({
				replicas: 1,
				minReplicas: 1,
				maxReplicas: 4,
				autoscaling: { targetOngoingRequests: 2, upscaleDelayS: 0, downscaleDelayS: 5 },
			}),
		]);
		let inFlight = 0;
		const h = harness(
			store,
			() => ["a", "b", "c", "d"].map(id => node(id)),
			[],
			() => new Map([["t1/mlp", inFlight]]),
		);
		await h.reconciler.trigger();
		await settle(h.reconciler);
		inFlight = 7.5;
		await h.reconciler.trigger();
		await settle(h.reconciler);
		expect(h.scaled).toEqual([expect.objectContaining({ from: 1, to: 4 })]);
	});

	it("estimates replica memory from the served files when the deployment does not say", () => {
		const d = deployment({
			resources: { memoryBytes: null, cpu: 0, gpus: 0, gpuMemoryBytes: 0 },
			traffic: [
				{ versionId: "v1", version: "1.0.0", weight: 90, artifactBytes: 1000 } as never,
				{ versionId: "v2", version: "2.0.0", weight: 10, artifactBytes: 3000 } as never,
			],
		});
		expect(estimateReplicaMemory(d)).toBe(2 * 1000 + 2 * 3000 + 2 * 16 * 1024 * 1024);
	});
});
