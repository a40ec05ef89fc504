import {
	formatBytes,
	planPlacement,
	type DeploymentDemand,
	type PlacedReplica,
	type PlacementNode,
	type PlacementPlan,
	type ReplicaResources,
} from "../../../lib/scheduler/placement";

const GB = 1e9;

/** A CPU replica of 1 GB and no CPU share unless told otherwise. */
function res(overrides: Partial<ReplicaResources> = {}): ReplicaResources {
	return { memoryBytes: 1 * GB, cpu: 0, gpus: 0, gpuMemoryBytes: 0, ...overrides };
}

/** An available 4-core node with 8 GB of model memory and no GPU unless told otherwise. */
function node(nodeID: string, overrides: Partial<PlacementNode> = {}): PlacementNode {
	return { nodeID, available: true, cpus: 4, modelMemoryBytes: 8 * GB, gpus: [], ...overrides };
}

/** A node with one GPU of `gpuGB` GB (null = unknown memory) per entry. */
function gpuNode(
	nodeID: string,
	gpuGB: Array<number | null> = [16],
	overrides: Partial<PlacementNode> = {},
): PlacementNode {
	return node(nodeID, {
		gpus: gpuGB.map((gb, index) => ({
			index,
			memoryTotalBytes: gb === null ? null : gb * GB,
		})),
		...overrides,
	});
}

function demand(
	deploymentId: string,
	replicas: number,
	resources: Partial<ReplicaResources> = {},
	extra: Partial<DeploymentDemand> = {},
): DeploymentDemand {
	return { deploymentId, replicas, resources: res(resources), ...extra };
}

function placed(
	deploymentId: string,
	nodeID: string,
	gpuIndex: number | null = null,
	resources: Partial<ReplicaResources> = {},
): PlacedReplica {
	return { deploymentId, nodeID, gpuIndex, resources: res(resources) };
}

/** The nodes a deployment ends up on: current replicas less removals plus placements. */
function nodesOf(plan: PlacementPlan, deploymentId: string, current: PlacedReplica[] = []) {
	const removed = new Set(
		plan.remove.filter(r => r.deploymentId === deploymentId).map(r => r.nodeID),
	);
	return [
		...current
			.filter(r => r.deploymentId === deploymentId && !removed.has(r.nodeID))
			.map(r => r.nodeID),
		...plan.place.filter(p => p.deploymentId === deploymentId).map(p => p.nodeID),
	].sort();
}

describe("planPlacement", () => {
	describe("placing new replicas", () => {
		it("spreads the replicas of one deployment over different nodes", () => {
			const plan = planPlacement([demand("d", 2)], [node("a"), node("b"), node("c")], []);
			expect(plan.place).toHaveLength(2);
			expect(new Set(plan.place.map(p => p.nodeID)).size).toBe(2);
			expect(plan.remove).toEqual([]);
			expect(plan.pending).toEqual([]);
		});

		it("never puts two replicas of a deployment on one node, and says so", () => {
			const plan = planPlacement([demand("d", 3)], [node("a"), node("b")], []);
			expect(nodesOf(plan, "d")).toEqual(["a", "b"]);
			expect(plan.pending).toEqual([
				{
					deploymentId: "d",
					missing: 1,
					reason: "needs 3 nodes, only 2 fit (one replica per node)",
				},
			]);
		});

		it("prefers the node with fewest replicas over the one with most memory left", () => {
			const current = [placed("other", "big")];
			const plan = planPlacement(
				[demand("other", 1), demand("d", 1)],
				[node("big", { modelMemoryBytes: 64 * GB }), node("small")],
				current,
			);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "small", gpuIndex: null }]);
		});

		it("counts what the plan itself placed when it compares nodes", () => {
			const plan = planPlacement(
				[demand("x", 1), demand("y", 1), demand("z", 1)],
				[node("a", { modelMemoryBytes: 64 * GB }), node("b"), node("c")],
				[],
			);
			// x takes the roomiest node; y and z then go to the nodes still empty.
			expect(plan.place.map(p => p.nodeID)).toEqual(["a", "b", "c"]);
		});

		it("then the node with most model memory left", () => {
			const plan = planPlacement(
				[demand("d", 1)],
				[node("a", { modelMemoryBytes: 4 * GB }), node("b", { modelMemoryBytes: 6 * GB })],
				[],
			);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "b", gpuIndex: null }]);
		});

		it("then the first nodeID, whatever order the nodes come in", () => {
			const nodes = [node("c"), node("a"), node("b")];
			expect(planPlacement([demand("d", 1)], nodes, []).place[0].nodeID).toBe("a");
			expect(planPlacement([demand("d", 1)], nodes.reverse(), []).place[0].nodeID).toBe("a");
		});

		it("keeps GPU nodes for GPU work: a CPU replica goes to a CPU node first", () => {
			const plan = planPlacement(
				[demand("d", 1)],
				[gpuNode("a-gpu", [16], { modelMemoryBytes: 64 * GB }), node("z-cpu")],
				[],
			);
			expect(plan.place[0].nodeID).toBe("z-cpu");
			expect(plan.place[0].gpuIndex).toBeNull();
		});

		it("uses a GPU node for CPU work when no CPU node fits", () => {
			const plan = planPlacement(
				[demand("d", 2)],
				[gpuNode("g"), node("c", { modelMemoryBytes: 0.5 * GB })],
				[],
			);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "g", gpuIndex: null }]);
			expect(plan.pending[0].missing).toBe(1);
		});

		it("counts existing replicas of other deployments on a node", () => {
			const current = [placed("other", "a", null, { memoryBytes: 7.5 * GB })];
			const plan = planPlacement(
				[demand("other", 1, { memoryBytes: 7.5 * GB }), demand("d", 1)],
				[node("a")],
				current,
			);
			expect(plan.place).toEqual([]);
			expect(plan.pending).toEqual([
				{
					deploymentId: "d",
					missing: 1,
					reason: "no node with 1.0 GB of model memory free (largest free: 500.0 MB)",
				},
			]);
		});

		it("fits exactly: model memory left equal to the need is enough", () => {
			const plan = planPlacement(
				[demand("d", 1, { memoryBytes: 8 * GB })],
				[node("a", { modelMemoryBytes: 8 * GB })],
				[],
			);
			expect(plan.place).toHaveLength(1);
		});

		it("accounts model memory across the replicas the plan places on one node", () => {
			const plan = planPlacement(
				[demand("x", 1, { memoryBytes: 3 * GB }), demand("y", 1, { memoryBytes: 3 * GB })],
				[node("a", { modelMemoryBytes: 5 * GB })],
				[],
			);
			expect(plan.place.map(p => p.deploymentId)).toEqual(["x"]);
			expect(plan.pending).toEqual([
				{
					deploymentId: "y",
					missing: 1,
					reason: "no node with 3.0 GB of model memory free (largest free: 2.0 GB)",
				},
			]);
		});

		it("accounts CPU shares, fractions included", () => {
			const plan = planPlacement(
				[
					demand("x", 1, { cpu: 1.5 }),
					demand("y", 1, { cpu: 0.5 }),
					demand("z", 1, { cpu: 0.1 }),
				],
				[node("a", { cpus: 2 })],
				[],
			);
			expect(plan.place.map(p => p.deploymentId)).toEqual(["x", "y"]);
			expect(plan.pending).toEqual([
				{
					deploymentId: "z",
					missing: 1,
					reason: "no node with 0.1 CPU cores free (most free: 0)",
				},
			]);
		});

		it("ignores CPU when the replica asks for none", () => {
			const plan = planPlacement([demand("d", 1, { cpu: 0 })], [node("a", { cpus: 0 })], []);
			expect(plan.place).toHaveLength(1);
		});

		it("places nothing and pends nothing for zero replicas", () => {
			expect(planPlacement([demand("d", 0)], [node("a")], [])).toEqual({
				place: [],
				remove: [],
				pending: [],
			});
		});
	});

	describe("GPUs", () => {
		it("never places a GPU replica on a node without GPUs", () => {
			const plan = planPlacement(
				[demand("d", 1, { gpus: 1 })],
				[node("a"), node("b", { modelMemoryBytes: 100 * GB })],
				[],
			);
			expect(plan.place).toEqual([]);
			expect(plan.pending).toEqual([
				{
					deploymentId: "d",
					missing: 1,
					reason: "no node with a free GPU (none of the 2 nodes has a GPU; start a worker on a GPU host or declare its GPUs)",
				},
			]);
		});

		it("places an exclusive GPU replica on the GPU node with its GPU index", () => {
			const plan = planPlacement(
				[demand("d", 1, { gpus: 1 })],
				[node("a"), gpuNode("g")],
				[],
			);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "g", gpuIndex: 0 }]);
		});

		it("gives each exclusive replica a GPU of its own", () => {
			const plan = planPlacement(
				[
					demand("x", 1, { gpus: 1 }),
					demand("y", 1, { gpus: 1 }),
					demand("z", 1, { gpus: 1 }),
				],
				[gpuNode("g", [16, 16])],
				[],
			);
			expect(plan.place).toEqual([
				{ deploymentId: "x", nodeID: "g", gpuIndex: 0 },
				{ deploymentId: "y", nodeID: "g", gpuIndex: 1 },
			]);
			expect(plan.pending).toEqual([
				{
					deploymentId: "z",
					missing: 1,
					reason: "no node with a free GPU (all 2 GPUs are in use)",
				},
			]);
		});

		it("does not take a GPU whole when a shared replica is on it", () => {
			const current = [placed("s", "g", 0, { gpuMemoryBytes: 1 * GB })];
			const plan = planPlacement(
				[demand("s", 1, { gpuMemoryBytes: 1 * GB }), demand("x", 1, { gpus: 1 })],
				[gpuNode("g", [16])],
				current,
			);
			expect(plan.place).toEqual([]);
			expect(plan.pending[0].reason).toBe("no node with a free GPU (the only GPU is in use)");
		});

		it("does not share a GPU that a replica holds whole", () => {
			const current = [placed("x", "g", 0, { gpus: 1 })];
			const plan = planPlacement(
				[demand("x", 1, { gpus: 1 }), demand("s", 1, { gpuMemoryBytes: 1 * GB })],
				[gpuNode("g", [16])],
				current,
			);
			expect(plan.place).toEqual([]);
			expect(plan.pending[0].reason).toBe(
				"no node with 1.0 GB of GPU memory free (the only GPU is taken whole)",
			);
		});

		it("shares a GPU by memory, and stops when its memory is used", () => {
			const plan = planPlacement(
				[
					demand("a", 1, { gpuMemoryBytes: 6 * GB }),
					demand("b", 1, { gpuMemoryBytes: 6 * GB }),
					demand("c", 1, { gpuMemoryBytes: 6 * GB }),
				],
				[gpuNode("g", [16])],
				[],
			);
			expect(plan.place).toEqual([
				{ deploymentId: "a", nodeID: "g", gpuIndex: 0 },
				{ deploymentId: "b", nodeID: "g", gpuIndex: 0 },
			]);
			expect(plan.pending[0].reason).toBe(
				"no node with 6.0 GB of GPU memory free (largest free: 4.0 GB)",
			);
		});

		it("packs shared replicas on the fullest GPU that fits, keeping whole GPUs free", () => {
			const plan = planPlacement(
				[
					demand("s1", 1, { gpuMemoryBytes: 4 * GB }),
					demand("s2", 1, { gpuMemoryBytes: 4 * GB }),
					demand("x", 1, { gpus: 1 }),
				],
				[gpuNode("g", [16, 16])],
				[],
			);
			expect(plan.place).toEqual([
				{ deploymentId: "s1", nodeID: "g", gpuIndex: 0 },
				{ deploymentId: "s2", nodeID: "g", gpuIndex: 0 },
				{ deploymentId: "x", nodeID: "g", gpuIndex: 1 },
			]);
		});

		it("does not fit a GPU memory request on a GPU of unknown memory", () => {
			const plan = planPlacement(
				[demand("s", 1, { gpuMemoryBytes: 1 * GB })],
				[gpuNode("g", [null])],
				[],
			);
			expect(plan.place).toEqual([]);
			expect(plan.pending[0].reason).toBe(
				"no node with 1.0 GB of GPU memory free (GPU memory unknown: declare it)",
			);
		});

		it("gives a whole GPU of unknown memory to an exclusive replica that names no size", () => {
			const plan = planPlacement([demand("x", 1, { gpus: 1 })], [gpuNode("g", [null])], []);
			expect(plan.place).toEqual([{ deploymentId: "x", nodeID: "g", gpuIndex: 0 }]);
		});

		it("checks the size of a whole GPU when the exclusive replica names one", () => {
			const plan = planPlacement(
				[demand("x", 1, { gpus: 1, gpuMemoryBytes: 40 * GB })],
				[gpuNode("g", [24, 80]), gpuNode("h", [24])],
				[],
			);
			expect(plan.place).toEqual([{ deploymentId: "x", nodeID: "g", gpuIndex: 1 }]);
			const short = planPlacement(
				[demand("x", 1, { gpus: 1, gpuMemoryBytes: 40 * GB })],
				[gpuNode("h", [24, null])],
				[],
			);
			expect(short.pending[0].reason).toBe(
				"no node with a free GPU of 40.0 GB (largest free GPU: 24.0 GB)",
			);
		});

		it("names a shared GPU request's missing GPU on a CPU-only fleet", () => {
			const plan = planPlacement(
				[demand("s", 1, { gpuMemoryBytes: 2 * GB })],
				[node("a")],
				[],
			);
			expect(plan.pending[0].reason).toBe(
				"no node with 2.0 GB of GPU memory free (the node has no GPU; start a worker on a GPU host or declare its GPUs)",
			);
		});

		it("uses a GPU node that joins: the pending GPU replica lands there", () => {
			const cpuOnly = [node("a"), node("b")];
			const before = planPlacement([demand("d", 1, { gpus: 1 })], cpuOnly, []);
			expect(before.pending[0].reason).toMatch(/^no node with a free GPU/);
			const after = planPlacement(
				[demand("d", 1, { gpus: 1 })],
				[...cpuOnly, gpuNode("g")],
				[],
			);
			expect(after.place).toEqual([{ deploymentId: "d", nodeID: "g", gpuIndex: 0 }]);
			expect(after.pending).toEqual([]);
		});
	});

	describe("existing replicas", () => {
		it("never moves replicas that still fit (no churn), even when a better node exists", () => {
			const current = [placed("d", "busy"), placed("other", "busy")];
			const plan = planPlacement(
				[demand("d", 1), demand("other", 1)],
				[node("busy"), node("empty", { modelMemoryBytes: 100 * GB })],
				current,
			);
			expect(plan).toEqual({ place: [], remove: [], pending: [] });
		});

		it("is a fixed point: planning again after carrying out a plan changes nothing", () => {
			const nodes = [gpuNode("g", [16, 16]), node("a"), node("b"), node("c")];
			const demands = [
				demand("x", 3),
				demand("y", 2, { gpuMemoryBytes: 4 * GB }),
				demand("z", 1, { gpus: 1 }),
			];
			const first = planPlacement(demands, nodes, []);
			const applied = first.place.map(p =>
				placed(
					p.deploymentId,
					p.nodeID,
					p.gpuIndex,
					demands.find(d => d.deploymentId === p.deploymentId)?.resources,
				),
			);
			expect(planPlacement(demands, nodes, applied)).toEqual({
				place: [],
				remove: [],
				pending: first.pending,
			});
		});

		it("adds only the missing replicas on other nodes", () => {
			const current = [placed("d", "a")];
			const plan = planPlacement([demand("d", 2)], [node("a"), node("b")], current);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "b", gpuIndex: null }]);
			expect(plan.remove).toEqual([]);
		});

		it("removes replicas of deleted deployments and frees their room", () => {
			const current = [placed("gone", "a", null, { memoryBytes: 8 * GB })];
			const plan = planPlacement(
				[demand("d", 1, { memoryBytes: 8 * GB })],
				[node("a")],
				current,
			);
			expect(plan.remove).toEqual([
				{ deploymentId: "gone", nodeID: "a", reason: "deployment deleted" },
			]);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "a", gpuIndex: null }]);
		});

		it("shrinks from the busiest nodes first", () => {
			const current = [
				placed("d", "a"),
				placed("d", "b"),
				placed("d", "c"),
				placed("other", "b"),
				placed("other2", "b"),
				placed("other", "c"),
			];
			const plan = planPlacement(
				[demand("d", 1), demand("other", 2), demand("other2", 1)],
				[node("a"), node("b"), node("c")],
				current,
			);
			expect(plan.remove).toEqual([
				{ deploymentId: "d", nodeID: "b", reason: "scaled down to 1 replica" },
				{ deploymentId: "d", nodeID: "c", reason: "scaled down to 1 replica" },
			]);
			expect(plan.place).toEqual([]);
		});

		it("breaks a shrink tie by the least model memory left", () => {
			const current = [placed("d", "a"), placed("d", "b")];
			const plan = planPlacement(
				[demand("d", 1)],
				[node("a", { modelMemoryBytes: 16 * GB }), node("b", { modelMemoryBytes: 4 * GB })],
				current,
			);
			expect(plan.remove.map(r => r.nodeID)).toEqual(["b"]);
		});

		it("removes every replica of a deployment scaled to zero", () => {
			const current = [placed("d", "a"), placed("d", "b")];
			const plan = planPlacement([demand("d", 0)], [node("a"), node("b")], current);
			expect(plan.remove).toEqual([
				// Equally busy nodes: the last nodeID goes first (the reverse of placing).
				{ deploymentId: "d", nodeID: "b", reason: "scaled down to 0 replicas" },
				{ deploymentId: "d", nodeID: "a", reason: "scaled down to 0 replicas" },
			]);
			expect(plan.pending).toEqual([]);
		});

		it("moves a replica whose node no longer has room for it", () => {
			const current = [placed("d", "a", null, { memoryBytes: 1 * GB })];
			const plan = planPlacement(
				[demand("d", 1, { memoryBytes: 3 * GB })],
				[node("a", { modelMemoryBytes: 2 * GB }), node("b")],
				current,
			);
			expect(plan.remove).toEqual([
				{
					deploymentId: "d",
					nodeID: "a",
					reason: "no longer fits on node a: 2.0 GB of model memory free, it needs 3.0 GB",
				},
			]);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "b", gpuIndex: null }]);
		});

		it("keeps the higher-priority replica when a node holds more than it can", () => {
			const current = [placed("low", "a"), placed("high", "a")];
			const plan = planPlacement(
				[demand("low", 1, {}, { priority: 0 }), demand("high", 1, {}, { priority: 5 })],
				[node("a", { modelMemoryBytes: 1 * GB })],
				current,
			);
			expect(plan.remove).toEqual([
				{
					deploymentId: "low",
					nodeID: "a",
					reason: "no longer fits on node a: 0 B of model memory free, it needs 1.0 GB",
				},
			]);
			// Not placed back on the node it is leaving within the same plan.
			expect(plan.place).toEqual([]);
			expect(plan.pending[0]).toMatchObject({ deploymentId: "low", missing: 1 });
		});

		it("moves a replica whose deployment now needs a GPU", () => {
			const current = [placed("d", "c")];
			const plan = planPlacement(
				[demand("d", 1, { gpus: 1 })],
				[node("c"), gpuNode("g")],
				current,
			);
			expect(plan.remove).toEqual([
				{
					deploymentId: "d",
					nodeID: "c",
					reason: "no longer fits on node c: it now needs a GPU",
				},
			]);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "g", gpuIndex: 0 }]);
		});

		it("moves a GPU replica whose GPU is gone", () => {
			const current = [placed("d", "g", 1, { gpus: 1 })];
			const plan = planPlacement(
				[demand("d", 1, { gpus: 1 })],
				[gpuNode("g", [16]), gpuNode("h", [16])],
				current,
			);
			expect(plan.remove).toEqual([
				{
					deploymentId: "d",
					nodeID: "g",
					reason: "no longer fits on node g: GPU 1 is gone",
				},
			]);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "h", gpuIndex: 0 }]);
		});

		it("keeps a shared GPU replica in place when its memory need grows and still fits", () => {
			const current = [placed("s", "g", 0, { gpuMemoryBytes: 2 * GB })];
			const plan = planPlacement(
				[demand("s", 1, { gpuMemoryBytes: 8 * GB })],
				[gpuNode("g", [16])],
				current,
			);
			expect(plan).toEqual({ place: [], remove: [], pending: [] });
		});

		it("counts a duplicated replica row once", () => {
			const plan = planPlacement(
				[demand("d", 2)],
				[node("a"), node("b")],
				[placed("d", "a"), placed("d", "a")],
			);
			expect(plan.remove).toEqual([]);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "b", gpuIndex: null }]);
		});
	});

	describe("node loss", () => {
		it("removes the lost node's replicas and places them on the remaining nodes", () => {
			const current = [placed("d", "a"), placed("d", "b")];
			const plan = planPlacement([demand("d", 2)], [node("a"), node("c")], current);
			expect(plan.remove).toEqual([
				{ deploymentId: "d", nodeID: "b", reason: "node b lost" },
			]);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "c", gpuIndex: null }]);
			expect(nodesOf(plan, "d", current)).toEqual(["a", "c"]);
		});

		it("treats an unavailable node as lost", () => {
			const current = [placed("d", "a")];
			const plan = planPlacement(
				[demand("d", 1)],
				[node("a", { available: false }), node("b")],
				current,
			);
			expect(plan.remove).toEqual([
				{ deploymentId: "d", nodeID: "a", reason: "node a lost (unavailable)" },
			]);
			expect(plan.place).toEqual([{ deploymentId: "d", nodeID: "b", gpuIndex: null }]);
		});

		it("reports the shortfall when the remaining nodes cannot take the lost replicas", () => {
			const current = [placed("d", "a"), placed("d", "b")];
			const plan = planPlacement([demand("d", 2)], [node("a")], current);
			expect(plan.remove).toEqual([
				{ deploymentId: "d", nodeID: "b", reason: "node b lost" },
			]);
			expect(plan.pending).toEqual([
				{
					deploymentId: "d",
					missing: 1,
					reason: "needs 2 nodes, only 1 fit (one replica per node)",
				},
			]);
		});

		it("with zero nodes, places nothing and says the fleet is empty", () => {
			const plan = planPlacement([demand("d", 2)], [], [placed("d", "a")]);
			expect(plan).toEqual({
				place: [],
				remove: [{ deploymentId: "d", nodeID: "a", reason: "node a lost" }],
				pending: [
					{ deploymentId: "d", missing: 2, reason: "no worker nodes in the fleet" },
				],
			});
		});

		it("with every node unavailable, says how many are down", () => {
			const plan = planPlacement(
				[demand("d", 1)],
				[node("a", { available: false }), node("b", { available: false })],
				[],
			);
			expect(plan.pending).toEqual([
				{
					deploymentId: "d",
					missing: 1,
					reason: "no worker nodes available (2 nodes unavailable)",
				},
			]);
		});
	});

	describe("shortage", () => {
		it("places the higher priority first when capacity is short", () => {
			const plan = planPlacement(
				[
					demand("low", 1, { memoryBytes: 6 * GB }, { priority: 0, createdAt: 1 }),
					demand("high", 1, { memoryBytes: 6 * GB }, { priority: 10, createdAt: 2 }),
				],
				[node("a")],
				[],
			);
			expect(plan.place).toEqual([{ deploymentId: "high", nodeID: "a", gpuIndex: null }]);
			expect(plan.pending.map(p => p.deploymentId)).toEqual(["low"]);
		});

		it("then the older deployment first", () => {
			const plan = planPlacement(
				[
					demand("new", 1, { memoryBytes: 6 * GB }, { createdAt: 200 }),
					demand("old", 1, { memoryBytes: 6 * GB }, { createdAt: 100 }),
				],
				[node("a")],
				[],
			);
			expect(plan.place.map(p => p.deploymentId)).toEqual(["old"]);
		});

		it("does not evict lower-priority replicas already placed", () => {
			const current = [placed("low", "a", null, { memoryBytes: 6 * GB })];
			const plan = planPlacement(
				[
					demand("low", 1, { memoryBytes: 6 * GB }, { priority: 0 }),
					demand("high", 1, { memoryBytes: 6 * GB }, { priority: 10 }),
				],
				[node("a")],
				current,
			);
			expect(plan.remove).toEqual([]);
			expect(plan.pending.map(p => p.deploymentId)).toEqual(["high"]);
		});

		it("explains a partial placement by the constraint that stopped it", () => {
			const plan = planPlacement(
				[demand("d", 3, { memoryBytes: 2 * GB })],
				[node("a"), node("b"), node("c", { modelMemoryBytes: 1.2 * GB })],
				[],
			);
			expect(plan.place.map(p => p.nodeID)).toEqual(["a", "b"]);
			expect(plan.pending).toEqual([
				{
					deploymentId: "d",
					missing: 1,
					reason: "needs 3 nodes, only 2 fit: no other node with 2.0 GB of model memory free (largest free: 1.2 GB)",
				},
			]);
		});

		it("names the GPU before memory when a node with a GPU is what is missing", () => {
			const plan = planPlacement(
				[demand("d", 1, { gpus: 1, memoryBytes: 20 * GB })],
				[node("big", { modelMemoryBytes: 64 * GB })],
				[],
			);
			expect(plan.pending[0].reason).toMatch(
				/^no node with a free GPU \(the node has no GPU/,
			);
		});

		it("reports memory among the GPU nodes when GPUs are free but memory is short", () => {
			const plan = planPlacement(
				[demand("d", 1, { gpus: 1, memoryBytes: 10 * GB })],
				[
					gpuNode("g", [16], { modelMemoryBytes: 4 * GB }),
					node("c", { modelMemoryBytes: 64 * GB }),
				],
				[],
			);
			expect(plan.pending[0].reason).toBe(
				"no node with 10.0 GB of model memory free (largest free: 4.0 GB)",
			);
		});

		it("reports CPU when memory fits but cores do not", () => {
			const plan = planPlacement(
				[demand("d", 1, { cpu: 2 })],
				[node("a", { cpus: 1 }), node("b", { cpus: 1.5 })],
				[],
			);
			expect(plan.pending[0].reason).toBe("no node with 2 CPU cores free (most free: 1.5)");
		});
	});

	describe("determinism", () => {
		const nodes = [
			gpuNode("g1", [16, 24]),
			gpuNode("g2", [80]),
			node("c1", { modelMemoryBytes: 4 * GB }),
			node("c2"),
			node("c3", { available: false }),
		];
		const demands = [
			demand("web", 3, { memoryBytes: 2 * GB, cpu: 1 }, { createdAt: 5 }),
			demand("llm", 2, { gpus: 1, memoryBytes: 6 * GB }, { priority: 1 }),
			demand("emb", 2, { gpuMemoryBytes: 8 * GB }, { createdAt: 3 }),
			demand("tiny", 4),
		];
		const current = [placed("web", "c3"), placed("tiny", "c2"), placed("gone", "g1")];

		it("gives the same plan for the same inputs in any order", () => {
			const plan = planPlacement(demands, nodes, current);
			const shuffled = planPlacement(
				[...demands].reverse(),
				[nodes[3], nodes[0], nodes[4], nodes[2], nodes[1]],
				[...current].reverse(),
			);
			expect(shuffled).toEqual(plan);
			expect(plan.place.length).toBeGreaterThan(0);
		});

		it("does not modify its inputs", () => {
			const copies = JSON.stringify([demands, nodes, current]);
			planPlacement(demands, nodes, current);
			expect(JSON.stringify([demands, nodes, current])).toBe(copies);
		});
	});
});

describe("formatBytes", () => {
	it.each([
		[0, "0 B"],
		[999, "999 B"],
		[1_500, "1.5 kB"],
		[500e6, "500.0 MB"],
		[1.2e9, "1.2 GB"],
		[2e12, "2.0 TB"],
	])("writes %d bytes as %s", (bytes, text) => {
		expect(formatBytes(bytes)).toBe(text);
	});
});
