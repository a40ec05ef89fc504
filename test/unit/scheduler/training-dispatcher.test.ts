import type { TrainingFailedEvent } from "../../../lib/events";
import type { TrainerNode } from "../../../lib/scheduler/job-dispatch";
import {
	MAX_JOB_ATTEMPTS,
	type JobCheckpoint,
	type JobState,
	type JobView,
	type QueuedJob,
} from "../../../lib/scheduler/job-store";
import {
	TrainingDispatcher,
	type DispatcherDeps,
	type TrainerRunParams,
} from "../../../lib/scheduler/training-dispatcher";

interface Row {
	id: string;
	priority: number;
	gpu: boolean;
	seq: number;
	state: JobState;
	nodeID: string | null;
	attempts: number;
	failures: Array<{ nodeID: string | null; reason: string }>;
	deadlineAt: number | null;
	checkpoint: JobCheckpoint | null;
	waitingReason: string | null;
	error: string | null;
	workers: number;
	gang: string[];
}

type DispatcherStore = DispatcherDeps["store"];

/** The JobStore's rules, in memory. */
class MemoryJobs implements DispatcherStore {
	rows: Row[] = [];
	private seq = 0;

	add(id: string, over: Partial<Row> = {}): Row {
		const row: Row = {
			id,
			priority: 0,
			gpu: false,
			seq: ++this.seq,
			state: "queued",
			nodeID: null,
			attempts: 0,
			failures: [],
			deadlineAt: null,
			checkpoint: null,
			waitingReason: null,
			error: null,
			workers: 1,
			gang: [],
			...over,
		};
		this.rows.push(row);
		return row;
	}

	get(id: string): Row {
		const row = this.rows.find(r => r.id === id);
		if (!row) throw new Error(`no job ${id}`);
		return row;
	}

	async active(): Promise<QueuedJob[]> {
		return this.rows
			.filter(r => r.state === "queued" || r.state === "running")
			.sort((a, b) => b.priority - a.priority || a.seq - b.seq)
			.map(r => ({
				id: r.id,
				tenantId: "t1",
				model: "iris",
				priority: r.priority,
				gpu: r.gpu,
				seq: r.seq,
				nodeID: r.nodeID,
				state: r.state,
				deadlineAt: r.deadlineAt,
				attempts: r.attempts,
				workers: r.workers,
				gang: r.gang,
			}));
	}

	async byId(id: string): Promise<(JobView & { tenantId: string }) | null> {
		const r = this.get(id);
		return {
			id: r.id,
			tenantId: "t1",
			model: "iris",
			datasetId: "ds1",
			state: r.state,
			priority: r.priority,
			gpu: r.gpu,
			nodeID: r.nodeID,
			attempts: r.attempts,
			failures: r.failures.map(f => ({ ...f, at: "" })),
			epoch: r.checkpoint?.epoch ?? 0,
			checkpoint: r.checkpoint,
			progress: [],
			backend: null,
			result: null,
			error: r.error,
			waitingReason: r.waitingReason,
			spec: { seed: 7 },
			createdAt: "",
			startedAt: null,
			finishedAt: null,
			deadlineAt: null,
		};
	}

	async claim(id: string, nodeID: string, gang: string[] = []): Promise<boolean> {
		const r = this.get(id);
		if (r.state !== "queued") return false;
		Object.assign(r, {
			state: "running",
			nodeID,
			gang,
			attempts: r.attempts + 1,
			waitingReason: null,
		});
		return true;
	}

	async setWaiting(id: string, reason: string | null): Promise<void> {
		const r = this.get(id);
		if (r.state === "queued") r.waitingReason = reason;
	}

	async runFailed(
		id: string,
		nodeID: string | null,
		reason: string,
		final = false,
		failure: { lostNodeID?: string } = {},
	) {
		const r = this.get(id);
		if (
			r.state !== "running" ||
			(nodeID !== null && r.nodeID !== nodeID && !r.gang.includes(nodeID))
		)
			return null;
		r.failures.push({ nodeID, reason });
		const over = final || r.attempts >= MAX_JOB_ATTEMPTS;
		r.state = over ? "failed" : "queued";
		if (failure.lostNodeID && r.gang.length > 1) r.workers = r.gang.length - 1;
		if (!over) Object.assign(r, { nodeID: null, gang: [] });
		return r.state;
	}

	async expire(id: string, reason: string): Promise<boolean> {
		const r = this.get(id);
		if (r.state !== "queued" && r.state !== "running") return false;
		Object.assign(r, { state: "failed", error: reason });
		return true;
	}
}

function harness(trainers: TrainerNode[], now = 1_000) {
	const store = new MemoryJobs();
	const started: Array<{ nodeID: string; params: TrainerRunParams }> = [];
	const stopped: Array<{ nodeID: string; jobId: string }> = [];
	const failed: TrainingFailedEvent[] = [];
	const refuse = new Set<string>();
	const deps: DispatcherDeps = {
		store,
		dataset: async (_tenant, id) => ({
			id,
			ref: "iris@1",
			sha256: "ab".repeat(32),
			format: "csv",
			labelColumn: "label",
		}),
		trainers: () => trainers,
		startRun: async (nodeID, _tenant, params) => {
			if (refuse.has(nodeID)) throw new Error("This trainer is busy (1 of 1 slots).");
			started.push({ nodeID, params });
		},
		stopRun: async (nodeID, jobId) => {
			stopped.push({ nodeID, jobId });
		},
		failed: event => failed.push(event),
		now: () => now,
		warn: () => undefined,
	};
	return {
		store,
		deps,
		started,
		stopped,
		failed,
		refuse,
		dispatcher: new TrainingDispatcher(deps),
	};
}

const trainer = (nodeID: string, over: Partial<TrainerNode> = {}): TrainerNode => ({
	nodeID,
	available: true,
	gpus: 0,
	slots: 1,
	...over,
});

describe("TrainingDispatcher", () => {
	it("starts the highest-priority queued job and records why the others wait", async () => {
		const h = harness([trainer("w1")]);
		h.store.add("low-1");
		h.store.add("low-2");
		h.store.add("high", { priority: 5 });
		await h.dispatcher.trigger();
		expect(h.started.map(s => [s.nodeID, s.params.jobId])).toEqual([["w1", "high"]]);
		expect(h.started[0].params).toMatchObject({
			model: "iris",
			spec: { seed: 7 },
			dataset: { id: "ds1", ref: "iris@1", labelColumn: "label" },
			checkpoint: null,
			attempt: 1,
		});
		expect(h.store.get("high").state).toBe("running");
		expect(h.store.get("low-1").waitingReason).toMatch(/every trainer is busy/);
		expect(h.store.get("low-2").waitingReason).toMatch(/every trainer is busy/);
	});

	it("asks the trainer of a running job another leader recorded to run it, once, from its last checkpoint", async () => {
		// A control node killed between recording the job as running on w1 and asking w1: the
		// job stayed running with no trainer running it, and nothing started it again.
		const h = harness([trainer("w1"), trainer("w2")]);
		const checkpoint = { sha256: "cd".repeat(32), epoch: 4, size: 100 };
		h.store.add("orphan", { state: "running", nodeID: "w1", attempts: 2, checkpoint });
		h.store.add("next");
		await h.dispatcher.trigger();
		expect(h.started.map(s => [s.nodeID, s.params.jobId, s.params.attempt])).toEqual([
			["w1", "orphan", 2],
			["w2", "next", 1],
		]);
		expect(h.started[0].params.checkpoint).toEqual(checkpoint);
		// Asked once: the next passes leave both alone, as they do the jobs they started.
		await h.dispatcher.trigger();
		await h.dispatcher.trigger();
		expect(h.started).toHaveLength(2);
		expect(h.failed).toEqual([]);
	});

	it("puts a running job another leader recorded back in the queue when its trainer refuses it", async () => {
		const h = harness([trainer("w1")]);
		h.store.add("orphan", { state: "running", nodeID: "w1", attempts: 1 });
		h.refuse.add("w1");
		await h.dispatcher.trigger();
		expect(h.failed[0]).toMatchObject({
			jobId: "orphan",
			nodeID: "w1",
			final: false,
			reason: expect.stringMatching(/could not start on w1: This trainer is busy/),
		});
		expect(h.store.get("orphan")).toMatchObject({ state: "queued", nodeID: null });
		h.refuse.clear();
		await h.dispatcher.trigger();
		expect(h.started.map(s => s.params.jobId)).toEqual(["orphan"]);
		expect(h.store.get("orphan").state).toBe("running");
	});

	it("returns a lost trainer's job to the queue and resumes it elsewhere from its checkpoint", async () => {
		const trainers = [trainer("w1"), trainer("w2")];
		const h = harness(trainers);
		h.store.add("job");
		await h.dispatcher.trigger();
		const first = h.started[0].nodeID;
		const checkpoint = { sha256: "cd".repeat(32), epoch: 6, size: 100 };
		h.store.get("job").checkpoint = checkpoint;

		trainers.find(t => t.nodeID === first)!.available = false;
		await h.dispatcher.trigger();
		expect(h.failed).toEqual([
			expect.objectContaining({
				jobId: "job",
				nodeID: first,
				reason: `trainer node ${first} was lost`,
				final: false,
			}),
		]);
		expect(h.started).toHaveLength(2);
		expect(h.started[1].nodeID).not.toBe(first);
		expect(h.started[1].params).toMatchObject({ jobId: "job", checkpoint, attempt: 2 });
		expect(h.store.get("job").failures).toEqual([
			{ nodeID: first, reason: `trainer node ${first} was lost` },
		]);
	});

	it(`fails a job for good once it was lost on ${MAX_JOB_ATTEMPTS} nodes`, async () => {
		const trainers = ["w1", "w2", "w3", "w4"].map(id => trainer(id));
		const h = harness(trainers);
		h.store.add("job");
		for (let i = 0; i < MAX_JOB_ATTEMPTS; i++) {
			await h.dispatcher.trigger();
			const on = h.store.get("job").nodeID!;
			trainers.find(t => t.nodeID === on)!.available = false;
		}
		await h.dispatcher.trigger();
		const row = h.store.get("job");
		expect(row.state).toBe("failed");
		expect(row.failures).toHaveLength(MAX_JOB_ATTEMPTS);
		expect(h.started).toHaveLength(MAX_JOB_ATTEMPTS);
		expect(h.failed.map(f => f.final)).toEqual([false, false, true]);
	});

	it("fails jobs past their deadline and stops the running one on its trainer", async () => {
		const h = harness([trainer("w1")], 5_000);
		h.store.add("running", { state: "running", nodeID: "w1", attempts: 1, deadlineAt: 4_000 });
		h.store.add("queued", { deadlineAt: 5_000 });
		h.store.add("later", { deadlineAt: 9_000 });
		await h.dispatcher.trigger();
		expect(h.store.get("running").state).toBe("failed");
		expect(h.store.get("queued").state).toBe("failed");
		expect(h.stopped).toEqual([{ nodeID: "w1", jobId: "running" }]);
		expect(h.failed.map(f => [f.jobId, f.final, f.reason])).toEqual([
			["running", true, "deadline passed after 1 run"],
			["queued", true, "deadline passed after 0 runs"],
		]);
		// The freed slot goes to the job whose deadline has not passed.
		expect(h.started.map(s => s.params.jobId)).toEqual(["later"]);
	});

	it("has the expired job stopped before it gives the freed slot to the next job", async () => {
		const h = harness([trainer("w1")], 5_000);
		h.store.add("expired", { state: "running", nodeID: "w1", attempts: 1, deadlineAt: 4_000 });
		h.store.add("next");
		const order: string[] = [];
		h.deps.stopRun = async (nodeID, jobId) => {
			await new Promise(resolve => setTimeout(resolve, 20));
			order.push(`stopped ${jobId} on ${nodeID}`);
		};
		const startRun = h.deps.startRun;
		h.deps.startRun = async (nodeID, tenant, params) => {
			order.push(`start ${params.jobId} on ${nodeID}`);
			await startRun(nodeID, tenant, params);
		};
		await h.dispatcher.trigger();
		expect(order).toEqual(["stopped expired on w1", "start next on w1"]);
	});

	it("puts a job back in the queue when its trainer refuses it", async () => {
		const h = harness([trainer("w1")]);
		h.store.add("job");
		h.refuse.add("w1");
		await h.dispatcher.trigger();
		expect(h.store.get("job")).toMatchObject({ state: "queued", nodeID: null, attempts: 1 });
		expect(h.failed).toEqual([
			expect.objectContaining({
				jobId: "job",
				nodeID: "w1",
				final: false,
				reason: expect.stringMatching(/could not start on w1: This trainer is busy/),
			}),
		]);
		h.refuse.clear();
		await h.dispatcher.trigger();
		expect(h.started.map(s => s.params.attempt)).toEqual([2]);
	});

	it("runs one pass at a time: triggers during a pass ask for one more pass", async () => {
		const h = harness([trainer("w1", { slots: 4 })]);
		h.store.add("a");
		const active = jest.spyOn(h.store, "active");
		const passes = [h.dispatcher.trigger(), h.dispatcher.trigger(), h.dispatcher.trigger()];
		h.store.add("b");
		await Promise.all(passes);
		// Two passes (each reads the queue twice), not three; b was seen by the second.
		expect(active).toHaveBeenCalledTimes(4);
		expect(h.started.map(s => s.params.jobId)).toEqual(["a", "b"]);
	});

	it("starts a data-parallel job on its whole gang, rank 0 first, and on one trainer fewer once a gang node is lost", async () => {
		const trainers = [trainer("w1"), trainer("w2"), trainer("w3")];
		const h = harness(trainers);
		h.store.add("dp", { workers: 2 });
		await h.dispatcher.trigger();
		expect(h.started.map(s => [s.nodeID, s.params.gang])).toEqual([
			["w1", { rank: 0, nodes: ["w1", "w2"] }],
			["w2", { rank: 1, nodes: ["w1", "w2"] }],
		]);
		expect(h.store.get("dp")).toMatchObject({ nodeID: "w1", gang: ["w1", "w2"] });

		trainers[1].available = false;
		await h.dispatcher.trigger();
		expect(h.failed).toEqual([
			expect.objectContaining({
				jobId: "dp",
				nodeID: "w2",
				reason: "trainer node w2 was lost",
				lostNodeID: "w2",
				final: false,
			}),
		]);
		// Rank 0 is told to stop; the job runs on again, one worker, without a gang.
		expect(h.stopped).toEqual([{ nodeID: "w1", jobId: "dp" }]);
		expect(h.started).toHaveLength(3);
		expect(h.started[2].params).toMatchObject({ attempt: 2 });
		expect(h.started[2].params.gang).toBeUndefined();
		expect(h.store.get("dp")).toMatchObject({ state: "running", workers: 1, gang: [] });
	});

	it("puts a gang back in the queue when one of its trainers refuses, stopping the ranks started", async () => {
		const h = harness([trainer("w1"), trainer("w2")]);
		h.store.add("dp", { workers: 2 });
		h.refuse.add("w2");
		await h.dispatcher.trigger();
		expect(h.started.map(s => s.nodeID)).toEqual(["w1"]);
		expect(h.stopped).toEqual([{ nodeID: "w1", jobId: "dp" }]);
		expect(h.failed).toEqual([
			expect.objectContaining({
				nodeID: "w2",
				reason: expect.stringMatching(/could not start on w2/),
			}),
		]);
		expect(h.store.get("dp")).toMatchObject({ state: "queued", workers: 2 });
	});
});
