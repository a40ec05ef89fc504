import { Readable } from "node:stream";
import {
	AlreadyExistsError,
	IdempotencyConflictError,
	InvalidInputError,
} from "../../../lib/errors";
import {
	runJob,
	type JobProgress,
	type JobRunnerEvents,
	type JobRunnerPorts,
	type TrainedVersion,
	type TrainingJobRun,
} from "../../../lib/training/job-runner";
import type { runTrainingJob, TrainingOutcome } from "../../../lib/training/training-run";

const CSV = "x,label\n1,a\n2,b\n3,a\n4,b\n";
const DATASET_SHA = "d".repeat(64);
const CHECKPOINT_SHA = "c".repeat(64);

const JOB: TrainingJobRun = {
	jobId: "00000000-0000-4000-8000-000000000001",
	model: "churn",
	spec: { dataset: "customers" },
	dataset: { ref: "customers@1", sha256: DATASET_SHA, format: "csv", labelColumn: "label" },
	checkpoint: null,
};

interface Fakes {
	ports: JobRunnerPorts<string>;
	events: { event: keyof JobRunnerEvents; payload: unknown }[];
	stored: { bytes: string; identity: string }[];
	registered: { version: TrainedVersion; identity: string }[];
	finished: string[];
	warnings: string[];
}

function fakes(blobs: Record<string, string> = { [DATASET_SHA]: CSV }): Fakes {
	const f: Omit<Fakes, "ports"> = {
		events: [],
		stored: [],
		registered: [],
		finished: [],
		warnings: [],
	};
	let signed = 0;
	const ports: JobRunnerPorts<string> = {
		identity: () => `token-${++signed}`,
		readBlob: async sha256 => (sha256 in blobs ? Readable.from([blobs[sha256]]) : null),
		storeArtifact: async (bytes, identity) => {
			f.stored.push({ bytes: Buffer.from(bytes).toString(), identity: identity() });
			return { sha256: String(f.stored.length).repeat(64), size: bytes.length };
		},
		registerVersion: async (version, identity) => {
			f.registered.push({ version, identity });
			return { version: "1.1.0" };
		},
		emit: async (event, payload) => {
			f.events.push({ event, payload });
		},
		metrics: {
			device: () => undefined,
			epoch: () => undefined,
			finished: outcome => f.finished.push(outcome),
		},
		isFinal: err => err instanceof InvalidInputError,
		warn: message => f.warnings.push(message),
	};
	return { ...f, ports };
}

function outcome(): TrainingOutcome {
	return {
		split: { train: 2, validation: 1, test: 1 },
		state: "Validated",
		version: {
			schema: { inputs: [], outputs: [] },
			pipeline: null,
			labels: ["a", "b"],
			metrics: [{ name: "accuracy", value: 0.75, split: "test" }],
			lineage: { jobId: JOB.jobId },
		},
		onnx: Buffer.from("onnx-bytes"),
		tfjs: null,
		training: {
			bestEpoch: 2,
			epochs: 3,
			stoppedEarly: true,
			backend: { name: "wasm", device: "cpu" },
		},
	} as unknown as TrainingOutcome;
}

/** Trains nothing: reports a backend, an epoch and a checkpoint, and answers `result`. */
function fakeTrain(result: () => TrainingOutcome): typeof runTrainingJob {
	return async input => {
		expect(input.dataset.rowCount).toBe(4);
		input.callbacks?.onBackend?.({ name: "wasm", device: "cpu" } as never);
		input.callbacks?.onProgress?.({
			epoch: 1,
			epochs: 3,
			loss: 0.5,
			metrics: { accuracy: 0.5 },
			validation: { val_loss: 0.6 },
			samplesPerSecond: 100,
			etaMs: 20,
		} as never);
		await input.callbacks?.onCheckpoint?.(1, Buffer.from("checkpoint-1"));
		return result();
	};
}

function progress(): JobProgress & { abort: AbortController } {
	const abort = new AbortController();
	return { abort, signal: abort.signal, epoch: 0 };
}

describe("runJob", () => {
	it("trains, stores the checkpoint and the model, registers the version and reports each step", async () => {
		const f = fakes();
		const p = progress();
		await runJob(JOB, "tenant-1", p, f.ports, {
			nodeID: "worker-1",
			train: fakeTrain(outcome),
		});

		expect(f.events.map(e => e.event)).toEqual([
			"started",
			"progress",
			"checkpoint",
			"completed",
		]);
		const base = { jobId: JOB.jobId, tenant: "tenant-1", model: "churn", nodeID: "worker-1" };
		expect(f.events[0].payload).toEqual({
			...base,
			fromEpoch: 1,
			backend: "wasm",
			device: "cpu",
		});
		expect(f.events[1].payload).toEqual({
			...base,
			epoch: 1,
			epochs: 3,
			metrics: { loss: 0.5, accuracy: 0.5, val_loss: 0.6 },
			samplesPerSecond: 100,
			etaMs: 20,
		});
		expect(f.events[2].payload).toEqual({
			...base,
			epoch: 1,
			sha256: "1".repeat(64),
			size: 12,
		});
		expect(f.events[3].payload).toEqual({
			...base,
			version: "1.1.0",
			state: "Validated",
			metrics: { accuracy: 0.75 },
			bestEpoch: 2,
			epochsRun: 3,
			stoppedEarly: true,
			// The last epoch's report again, should its own have been lost (a control outage).
			lastEpoch: { epoch: 1, metrics: { loss: 0.5, accuracy: 0.5, val_loss: 0.6 } },
			checkpoint: { epoch: 1, sha256: "1".repeat(64), size: 12 },
		});
		expect(p.epoch).toBe(1);
		expect(f.stored.map(s => s.bytes)).toEqual(["checkpoint-1", "onnx-bytes"]);
		// Each call acts with an identity signed for it.
		expect(new Set([...f.stored.map(s => s.identity), f.registered[0].identity]).size).toBe(3);
		expect(f.registered[0].version).toMatchObject({
			model: "churn",
			bump: "minor",
			format: "onnx",
			artifact: { sha256: "2".repeat(64), size: 10 },
			description: `Trained by job ${JOB.jobId} on dataset customers@1.`,
			details: { alternates: [], split: { train: 2, validation: 1, test: 1 } },
			state: "Validated",
		});
		expect(f.finished).toEqual(["completed"]);
	});

	it("registers nothing for a study's trial segment (register: false), and reports its metrics", async () => {
		const f = fakes();
		let assessed = false;
		await runJob(
			{ ...JOB, spec: { ...JOB.spec, register: false } },
			"tenant-1",
			progress(),
			f.ports,
			{
				nodeID: "worker-1",
				train: fakeTrain(outcome),
				assess: async () => {
					assessed = true;
					return null;
				},
			},
		);
		expect(f.registered).toEqual([]);
		expect(assessed).toBe(false);
		expect(f.stored.map(s => s.bytes)).toEqual(["checkpoint-1"]);
		expect(f.events.at(-1)).toMatchObject({
			event: "completed",
			payload: { version: null, metrics: { accuracy: 0.75 }, epochsRun: 3 },
		});
	});

	it("keeps the assessment (global importance) in the version's details; a failed one only warns", async () => {
		const f = fakes();
		const importance = { method: "permutation", ranking: ["x"] };
		const seen: unknown[] = [];
		await runJob(JOB, "tenant-1", progress(), f.ports, {
			nodeID: "worker-1",
			train: fakeTrain(outcome),
			assess: async (result, job) => {
				seen.push(result.version.labels, job.jobId);
				return importance;
			},
		});
		expect(seen).toEqual([["a", "b"], JOB.jobId]);
		expect(f.registered[0].version.details.importance).toEqual(importance);

		const g = fakes();
		await runJob(JOB, "tenant-1", progress(), g.ports, {
			nodeID: "worker-1",
			train: fakeTrain(outcome),
			assess: () => Promise.reject(new Error("no rows")),
		});
		expect(g.registered).toHaveLength(1);
		expect(g.registered[0].version.details).not.toHaveProperty("importance");
		expect(g.warnings.join(" ")).toContain("no importance");
		expect(g.events.map(e => e.event)).toContain("completed");
	});

	it("resumes from the checkpoint's bytes and says so in `started`", async () => {
		const f = fakes({ [DATASET_SHA]: CSV, [CHECKPOINT_SHA]: "weights" });
		let resumed: string | null = null;
		const train: typeof runTrainingJob = async input => {
			resumed = Buffer.from(input.resumeFrom ?? []).toString();
			return fakeTrain(outcome)(input);
		};
		const job = { ...JOB, checkpoint: { sha256: CHECKPOINT_SHA, epoch: 4 } };
		await runJob(job, "tenant-1", progress(), f.ports, { nodeID: "w", train });
		expect(resumed).toBe("weights");
		expect(f.events[0].payload).toMatchObject({ fromEpoch: 5 });
	});

	it("reports a missing dataset as a failure, not final, and registers nothing", async () => {
		const f = fakes({});
		await runJob(JOB, "tenant-1", progress(), f.ports, {
			nodeID: "w",
			train: fakeTrain(outcome),
		});
		expect(f.events.map(e => e.event)).toEqual(["failed"]);
		expect(f.events[0].payload).toMatchObject({ final: false, nodeID: "w" });
		expect((f.events[0].payload as { reason: string }).reason).toMatch(/dataset file/);
		expect(f.registered).toEqual([]);
		expect(f.finished).toEqual(["failed"]);
		expect(f.warnings).toHaveLength(1);
	});

	it("reports the job's own mistakes as final", async () => {
		const f = fakes();
		const train = fakeTrain(() => {
			throw new InvalidInputError("No rows left after the split.");
		});
		await runJob(JOB, "tenant-1", progress(), f.ports, { nodeID: "w", train });
		expect(f.events.at(-1)).toEqual({
			event: "failed",
			payload: expect.objectContaining({
				reason: "No rows left after the split.",
				final: true,
			}),
		});
	});

	it("reports nothing for a stopped job", async () => {
		const f = fakes();
		const p = progress();
		const train: typeof runTrainingJob = async () => {
			p.abort.abort(new Error("cancelled"));
			throw new Error("cancelled");
		};
		await runJob(JOB, "tenant-1", p, f.ports, { nodeID: "w", train });
		expect(f.events).toEqual([]);
		expect(f.finished).toEqual([]);
	});

	it("data-parallel: rank 0 reports and registers with the exchange's cost; another rank only trains", async () => {
		const gang = { rank: 0, nodes: ["w0", "w1"] };
		const seen: unknown[] = [];
		const exchange = async (_step: number, v: Float32Array) => v;
		const train: typeof runTrainingJob = async input => {
			seen.push(input.parallel, typeof input.callbacks?.exchange);
			const result = outcome();
			(result.training as { history: unknown[] }).history = [
				{
					samplesPerSecond: 100,
					communication: { workers: 2, steps: 4, msPerStep: 2, bytesPerStep: 80 },
				},
				{
					samplesPerSecond: 300,
					communication: { workers: 2, steps: 4, msPerStep: 4, bytesPerStep: 80 },
				},
			];
			return fakeTrain(() => result)(input);
		};
		const zero = fakes();
		await runJob({ ...JOB, gang }, "tenant-1", progress(), zero.ports, {
			nodeID: "w0",
			train,
			exchange,
		});
		expect(seen).toEqual([{ rank: 0, size: 2 }, "function"]);
		expect(zero.events.map(e => e.event)).toEqual([
			"started",
			"progress",
			"checkpoint",
			"completed",
		]);
		expect(zero.events[3].payload).toMatchObject({
			dataParallel: { workers: 2, samplesPerSecond: 200, msPerStep: 3, bytesPerStep: 80 },
		});

		const one = fakes();
		seen.length = 0;
		await runJob({ ...JOB, gang: { ...gang, rank: 1 } }, "tenant-1", progress(), one.ports, {
			nodeID: "w1",
			train,
			exchange,
		});
		expect(seen).toEqual([{ rank: 1, size: 2 }, "function"]);
		expect(one.events).toEqual([]);
		expect(one.registered).toEqual([]);
		expect(one.stored).toEqual([]);
		expect(one.finished).toEqual(["completed"]);
	});

	it("data-parallel: a failure names the gang node that was lost and the attempt", async () => {
		const f = fakes();
		const train: typeof runTrainingJob = async () => {
			throw new Error("data-parallel rank 1's node w1 left the fleet");
		};
		await runJob(
			{ ...JOB, gang: { rank: 0, nodes: ["w0", "w1"] }, attempt: 2 },
			"tenant-1",
			progress(),
			f.ports,
			{ nodeID: "w0", train, lostNode: () => "w1" },
		);
		expect(f.events).toEqual([
			{
				event: "failed",
				payload: expect.objectContaining({ final: false, lostNodeID: "w1", attempt: 2 }),
			},
		]);
	});

	it("trains on when a checkpoint cannot be stored (given up: the job stopping): the next one supersedes it", async () => {
		const f = fakes();
		const store = f.ports.storeArtifact;
		f.ports.storeArtifact = async (bytes, identity) => {
			if (Buffer.from(bytes).toString() === "checkpoint-1")
				throw new Error(
					"Request is rejected when call 'artifacts.put' action on 'control' node.",
				);
			return store(bytes, identity);
		};
		f.ports.untilDelivered = send => send();
		await runJob({ ...JOB, attempt: 2 }, "tenant-1", progress(), f.ports, {
			nodeID: "worker-1",
			train: fakeTrain(outcome),
		});
		expect(f.warnings).toEqual([
			expect.stringContaining("checkpoint of epoch 1 not stored (the next one will be)"),
		]);
		expect(f.events.map(e => e.event)).toEqual(["started", "progress", "completed"]);
		expect(f.events[2].payload).toMatchObject({ version: "1.1.0", attempt: 2 });
		expect(f.events[2].payload).not.toHaveProperty("checkpoint");
	});

	it("reads the dataset and stores and registers the version through untilDelivered", async () => {
		const f = fakes();
		const delivered: boolean[] = [];
		const failures = new Map<string, number>([
			["read", 2],
			["register", 3],
		]);
		const flaky =
			<A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
			async (...args: A): Promise<R> => {
				const left = failures.get(name) ?? 0;
				if (left > 0) {
					failures.set(name, left - 1);
					throw new Error(`${name}: no control node`);
				}
				return call(...args);
			};
		f.ports.readBlob = flaky("read", f.ports.readBlob);
		f.ports.registerVersion = flaky("register", f.ports.registerVersion);
		f.ports.untilDelivered = async <T>(send: () => Promise<T>, idempotent: boolean) => {
			delivered.push(idempotent);
			for (;;) {
				try {
					return await send();
				} catch {
					// tried again, as report-delivery.ts does
				}
			}
		};
		await runJob(JOB, "tenant-1", progress(), f.ports, {
			nodeID: "worker-1",
			train: fakeTrain(outcome),
		});
		// The read, the checkpoint, the model upload and the registration (under the job's key)
		// may all repeat after a try that arrived.
		expect(delivered).toEqual([true, true, true, true]);
		expect(f.registered).toHaveLength(1);
		expect(f.events.at(-1)).toMatchObject({
			event: "completed",
			payload: { version: "1.1.0" },
		});
	});

	it("registers under the job's key: sent again after a lost answer, it makes one version", async () => {
		const f = fakes();
		// A registry that keeps one version per key, and loses its first answer (the control
		// node killed between storing and answering).
		const byKey = new Map<string, string>();
		let answers = 0;
		f.ports.registerVersion = async version => {
			const number = byKey.get(version.idempotencyKey) ?? `1.${byKey.size + 1}.0`;
			byKey.set(version.idempotencyKey, number);
			if (++answers === 1)
				throw new Error("Request timed out when call 'registry.versions.create'");
			return { version: number };
		};
		f.ports.untilDelivered = async <T>(send: () => Promise<T>, idempotent: boolean) => {
			for (let tries = 1; ; tries++) {
				try {
					return await send();
				} catch (err) {
					// As the trainer's: a call that may have arrived is repeated only when idempotent.
					if (!idempotent || tries > 3) throw err;
				}
			}
		};
		await runJob(JOB, "tenant-1", progress(), f.ports, {
			nodeID: "worker-1",
			train: fakeTrain(outcome),
		});
		expect([...byKey]).toEqual([[`job:${JOB.jobId}`, "1.1.0"]]);
		expect(answers).toBe(2);
		expect(f.events.at(-1)).toMatchObject({
			event: "completed",
			payload: { version: "1.1.0" },
		});
	});

	it("completes with the version an earlier attempt registered when its key made one from another model", async () => {
		const f = fakes();
		const keys: string[] = [];
		f.ports.registerVersion = async version => {
			keys.push(version.idempotencyKey);
			throw new IdempotencyConflictError(version.idempotencyKey, "churn", "1.3.0");
		};
		await runJob({ ...JOB, attempt: 2 }, "tenant-1", progress(), f.ports, {
			nodeID: "worker-2",
			train: fakeTrain(outcome),
		});
		expect(keys).toEqual([`job:${JOB.jobId}`]);
		expect(f.events.at(-1)).toMatchObject({
			event: "completed",
			payload: { version: "1.3.0", attempt: 2 },
		});
		expect(f.finished).toEqual(["completed"]);
		expect(f.warnings).toEqual([
			expect.stringContaining("an earlier attempt registered its version 1.3.0"),
		]);
	});

	it("fails the job on any other refusal of its registration", async () => {
		const f = fakes();
		f.ports.registerVersion = async () => {
			throw new AlreadyExistsError("version", "churn@1.1.0");
		};
		f.ports.isFinal = err => err instanceof AlreadyExistsError;
		await runJob(JOB, "tenant-1", progress(), f.ports, {
			nodeID: "worker-1",
			train: fakeTrain(outcome),
		});
		expect(f.events.at(-1)).toMatchObject({ event: "failed", payload: { final: true } });
	});
});
