import {
	LOST_NODE_QUARANTINE_MS,
	planDispatch,
	type TrainerNode,
} from "../../../lib/scheduler/job-dispatch";
import type { QueuedJob } from "../../../lib/scheduler/job-store";

let seq = 0;

function job(id: string, over: Partial<QueuedJob> = {}): QueuedJob {
	return {
		id,
		tenantId: "t1",
		model: "iris",
		priority: 0,
		gpu: false,
		seq: ++seq,
		nodeID: null,
		state: "queued",
		deadlineAt: null,
		attempts: 0,
		...over,
	};
}

function trainer(nodeID: string, over: Partial<TrainerNode> = {}): TrainerNode {
	return { nodeID, available: true, gpus: 0, slots: 1, ...over };
}

describe("planDispatch", () => {
	it("starts jobs in the order given (priority, then submission) while slots last", () => {
		const plan = planDispatch(
			[job("high", { priority: 10 }), job("low-1"), job("low-2")],
			[trainer("w1")],
		);
		expect(plan.start).toEqual([{ jobId: "high", nodeID: "w1" }]);
		expect(plan.waiting.map(w => w.jobId)).toEqual(["low-1", "low-2"]);
		expect(plan.waiting[0].reason).toBe("every trainer is busy (1 slot in use)");
	});

	it("counts running jobs against their trainer's slots", () => {
		const plan = planDispatch(
			[job("running", { state: "running", nodeID: "w1" }), job("next")],
			[trainer("w1", { slots: 2 }), trainer("w2")],
		);
		// w2 is idle, w1 is half busy: the idle one gets it.
		expect(plan.start).toEqual([{ jobId: "next", nodeID: "w2" }]);

		const full = planDispatch(
			[job("a", { state: "running", nodeID: "w1" }), job("b")],
			[trainer("w1")],
		);
		expect(full.start).toEqual([]);
		expect(full.waiting).toEqual([
			{ jobId: "b", reason: "every trainer is busy (1 slot in use)" },
		]);
	});

	it("runs several jobs on one trainer up to its slots", () => {
		const plan = planDispatch([job("a"), job("b"), job("c")], [trainer("w1", { slots: 2 })]);
		expect(plan.start).toEqual([
			{ jobId: "a", nodeID: "w1" },
			{ jobId: "b", nodeID: "w1" },
		]);
		expect(plan.waiting.map(w => w.jobId)).toEqual(["c"]);
		expect(plan.waiting[0].reason).toMatch(/2 slots in use/);
	});

	it("puts a GPU job only on a trainer with a GPU, and says why it waits without one", () => {
		const cpuOnly = planDispatch([job("g", { gpu: true })], [trainer("w1"), trainer("w2")]);
		expect(cpuOnly.start).toEqual([]);
		expect(cpuOnly.waiting).toEqual([
			{
				jobId: "g",
				reason: "no trainer with a GPU: start a worker on a GPU host (or declare MODELFLEET_GPUS)",
			},
		]);

		const withGpu = planDispatch(
			[job("g", { gpu: true })],
			[trainer("w1"), trainer("gpu", { gpus: 1 })],
		);
		expect(withGpu.start).toEqual([{ jobId: "g", nodeID: "gpu" }]);
	});

	it("says every GPU trainer is busy when the GPU nodes are full", () => {
		const plan = planDispatch(
			[job("a", { gpu: true, state: "running", nodeID: "gpu" }), job("b", { gpu: true })],
			[trainer("w1"), trainer("gpu", { gpus: 1 })],
		);
		expect(plan.start).toEqual([]);
		expect(plan.waiting).toEqual([
			{ jobId: "b", reason: "every GPU trainer is busy (1 slot in use)" },
		]);
	});

	it("keeps GPU trainers for GPU work: a CPU job goes to a CPU trainer when one is free", () => {
		const plan = planDispatch([job("cpu")], [trainer("a-gpu", { gpus: 1 }), trainer("z-cpu")]);
		expect(plan.start).toEqual([{ jobId: "cpu", nodeID: "z-cpu" }]);

		// …but uses the GPU trainer rather than waiting when no CPU trainer is free.
		const busy = planDispatch(
			[job("run", { state: "running", nodeID: "z-cpu" }), job("cpu")],
			[trainer("a-gpu", { gpus: 1 }), trainer("z-cpu")],
		);
		expect(busy.start).toEqual([{ jobId: "cpu", nodeID: "a-gpu" }]);
	});

	it("does not let a job that fits nowhere hold back the jobs behind it", () => {
		const plan = planDispatch(
			[job("gpu", { gpu: true, priority: 100 }), job("cpu")],
			[trainer("w1")],
		);
		expect(plan.start).toEqual([{ jobId: "cpu", nodeID: "w1" }]);
		expect(plan.waiting.map(w => w.jobId)).toEqual(["gpu"]);
	});

	it("ignores unavailable trainers, and says so when there is no trainer at all", () => {
		const plan = planDispatch([job("a")], [trainer("lost", { available: false })]);
		expect(plan.start).toEqual([]);
		expect(plan.waiting).toEqual([
			{ jobId: "a", reason: "no trainer node in the fleet: start a worker" },
		]);
		expect(planDispatch([job("a")], []).waiting[0].reason).toMatch(/no trainer node/);
	});

	it("leaves running jobs alone", () => {
		const plan = planDispatch(
			[job("r", { state: "running", nodeID: "w1" })],
			[trainer("w1"), trainer("w2")],
		);
		expect(plan).toEqual({ start: [], waiting: [] });
	});

	it("starts a data-parallel job on that many distinct free trainers at once, rank 0 first", () => {
		const plan = planDispatch(
			[job("dp", { workers: 2 }), job("next")],
			[trainer("w2"), trainer("w1"), trainer("w3")],
		);
		expect(plan.start).toEqual([
			{ jobId: "dp", nodeID: "w1", gang: ["w1", "w2"] },
			{ jobId: "next", nodeID: "w3" },
		]);
	});

	it("counts a running gang against every node's slots, and keeps a gang waiting until enough are free", () => {
		const running = job("dp", {
			state: "running",
			nodeID: "w1",
			workers: 2,
			gang: ["w1", "w2"],
		});
		const plan = planDispatch(
			[running, job("dp2", { workers: 2 }), job("one")],
			[trainer("w1"), trainer("w2"), trainer("w3")],
		);
		// One trainer is free: the gang waits, the one-worker job behind it takes it.
		expect(plan.start).toEqual([{ jobId: "one", nodeID: "w3" }]);
		expect(plan.waiting).toEqual([
			{
				jobId: "dp2",
				reason: "data-parallel training needs 2 trainers at once; 1 of the 3 that fit is free",
			},
		]);
		const few = planDispatch([job("dp3", { workers: 3 })], [trainer("w1"), trainer("w2")]);
		expect(few.waiting[0].reason).toBe(
			"data-parallel training needs 3 trainers at once; 2 that fit are connected: start more workers",
		);
		const busy = planDispatch(
			[running, job("dp4", { workers: 2 })],
			[trainer("w1"), trainer("w2")],
		);
		expect(busy.waiting[0].reason).toMatch(
			/needs 2 trainers at once; 0 of the 2 that fit are free/,
		);
	});

	it("does not give a job a node its failure named lost, for a while", () => {
		const lost = job("dp", { workers: 1, lostNodes: [{ nodeID: "w1", at: 1_000 }] });
		expect(planDispatch([lost], [trainer("w1"), trainer("w2")], 2_000).start).toEqual([
			{ jobId: "dp", nodeID: "w2" },
		]);
		expect(planDispatch([lost], [trainer("w1")], 2_000).start).toEqual([]);
		expect(
			planDispatch([lost], [trainer("w1")], 1_000 + LOST_NODE_QUARANTINE_MS).start,
		).toEqual([{ jobId: "dp", nodeID: "w1" }]);
	});
});
