/**
 * One training job on a trainer, from its dataset to its registered version: read and parse
 * the dataset (and the checkpoint it resumes from), train, store each checkpoint, store the
 * trained model (ONNX, served) and its TF.js files (kept beside it), register the version, and
 * report every step as a training event. What it reaches outside — blobs, the artifact store,
 * the registry, the event bus, the metrics, the job tenant's signed identity — comes in as
 * ports, so the flow runs without a broker (the trainer service wires them).
 */
import type { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { parseDataset } from "../datasets/parse-dataset";
import { NotFoundError } from "../errors";
import { jobVersionKey, registerJobVersion } from "../model-spec/version-idempotency";
import type { JobSpec } from "./job-spec";
import { tfjsTar } from "./tfjs-tar";
import type { TrainingMetricsRecorder } from "./training-metrics";
import { runTrainingJob, type TrainingOutcome } from "./training-run";
import type { TrainCallbacks } from "./train-in-worker";
import type { BackendPreference } from "./training-types";

/** The job as the scheduler hands it to the trainer (lib/scheduler TrainerRunParams). */
export interface TrainingJobRun {
	jobId: string;
	model: string;
	/** The validated job spec (job-spec.ts), as stored. */
	spec: Record<string, unknown>;
	dataset: { ref: string; sha256: string; format: string; labelColumn: string | null };
	/** Where to resume from; null: from the start. */
	checkpoint: { sha256: string; epoch: number } | null;
	/**
	 * Data-parallel jobs: this trainer's rank among the gang's nodes (rank order; rank 0 reports
	 * the job and registers its version). Absent: one worker.
	 */
	gang?: { rank: number; nodes: string[] } | null;
	/** The scheduler's attempt (1, 2, …), named in a failure report. */
	attempt?: number;
}

/** What every event of the job says (lib/events.ts TrainingEvent and the trainer's node). */
interface JobEventBase {
	jobId: string;
	tenant: string;
	model: string;
	nodeID: string;
}

/** The job's events, by step: the payloads of lib/events.ts `training.*`. */
export interface JobRunnerEvents {
	started: JobEventBase & { fromEpoch: number; backend: string; device: string };
	progress: JobEventBase & {
		epoch: number;
		epochs: number;
		metrics: Record<string, number>;
		samplesPerSecond: number;
		etaMs: number;
		communication?: { workers: number; msPerStep: number; bytesPerStep: number };
	};
	checkpoint: JobEventBase & { epoch: number; sha256: string; size: number };
	completed: JobEventBase & {
		/** Null when the spec says `register: false`. */
		version: string | null;
		state: "Trained" | "Validated";
		metrics: Record<string, number>;
		bestEpoch: number;
		epochsRun: number;
		stoppedEarly: boolean;
		/** The scheduler's attempt that completed: a late report of an earlier one is ignored. */
		attempt?: number;
		/**
		 * The last epoch's report again: progress reports are not retried, so one broadcast while
		 * no control node listened is lost; the job's record gets it from here (a study's trial is
		 * judged by its last epoch's metrics).
		 */
		lastEpoch?: { epoch: number; metrics: Record<string, number> };
		/** The last checkpoint stored, again (its own report may have been lost the same way). */
		checkpoint?: { epoch: number; sha256: string; size: number };
		dataParallel?: {
			workers: number;
			samplesPerSecond: number;
			msPerStep: number;
			bytesPerStep: number;
		};
	};
	failed: JobEventBase & {
		reason: string;
		final: boolean;
		lostNodeID?: string;
		attempt?: number;
	};
}

/** What `versions.create` takes for the trained version. */
export interface TrainedVersion {
	model: string;
	bump: "minor";
	format: "onnx";
	artifact: StoredBlob;
	description: string;
	schema: TrainingOutcome["version"]["schema"];
	pipeline: TrainingOutcome["version"]["pipeline"];
	labels: TrainingOutcome["version"]["labels"];
	metrics: TrainingOutcome["version"]["metrics"];
	lineage: TrainingOutcome["version"]["lineage"];
	details: {
		alternates: { format: string; artifact: StoredBlob }[];
		split: TrainingOutcome["split"];
		backend: TrainingOutcome["training"]["backend"];
		/** What `options.assess` found (permutation importance on the test split). */
		importance?: unknown;
	};
	state: TrainingOutcome["state"];
	/** `job:<jobId>` (lib/model-spec/version-idempotency.ts): one job, one version, however often sent. */
	idempotencyKey: string;
}

export interface StoredBlob {
	sha256: string;
	size: number;
}

/** The ports of a job run; `I` is the signed identity the calls act with. */
export interface JobRunnerPorts<I> {
	/** The job tenant's signed identity, afresh for each call: a job may run for hours. */
	identity(): I;
	/** Dataset source: a stored blob's plaintext, streamed; null when the fleet does not have it. */
	readBlob(sha256: string): Promise<Readable | null>;
	/** Artifact sink: stores bytes for the job's tenant (an identity per call: an upload may take parts). */
	storeArtifact(bytes: Uint8Array, identity: () => I): Promise<StoredBlob>;
	/** Registrar: registers the trained version for the job's tenant, answering its number. */
	registerVersion(version: TrainedVersion, identity: I): Promise<{ version: string }>;
	/** Event sink: a failed report must not fail the job (the sink swallows its own errors). */
	emit<E extends keyof JobRunnerEvents>(event: E, payload: JobRunnerEvents[E]): Promise<void>;
	/** The job's metrics (its device set once the backend is known). */
	metrics: TrainingMetricsRecorder & { device(name: string): void };
	/** Whether a failure is the job's own (bad data, a bad spec): it fails the same on any node. */
	isFinal(err: unknown): boolean;
	/**
	 * Sends a call the job's result must not be lost to while no control node answers (the
	 * version's artifacts and its registration), trying again until answered (report-delivery.ts).
	 * `idempotent`: the call may be repeated after an unanswered try that arrived (a content-
	 * addressed upload, the registration under the job's idempotency key); else it is tried again
	 * only when it surely never arrived. Default: once.
	 */
	untilDelivered?<T>(send: () => Promise<T>, idempotent: boolean): Promise<T>;
	warn(message: string, err?: unknown): void;
}

export interface JobRunnerOptions {
	/** The trainer's node, named in every event. */
	nodeID: string;
	/** TF.js backend preference; default "auto". */
	backend?: BackendPreference;
	/** The seam for tests: trains the parsed dataset (default runTrainingJob). */
	train?: typeof runTrainingJob;
	/**
	 * Assesses the trained model before it is registered: its global importance on the test
	 * split (lib/explain/trained-importance.ts, handed in by the trainer service: the explain
	 * layer sits above training), kept as the version's `details.importance`. A failure is
	 * reported as a warning and the version is registered without it.
	 */
	assess?: (outcome: TrainingOutcome, job: TrainingJobRun) => Promise<unknown>;
	/** Data-parallel jobs: swaps a step's contribution for the reduced vector (see job.gang). */
	exchange?(step: number, vector: Float32Array): Promise<Float32Array>;
	/** Data-parallel jobs: the gang node that failed the run, when one did (named in `failed`). */
	lostNode?(): string | null;
}

/** A running job as the trainer tracks it: its abort signal, and its epoch (updated here). */
export interface JobProgress {
	signal: AbortSignal;
	epoch: number;
	/** The last epoch reported: its metrics (set here). */
	lastMetrics?: Record<string, number>;
	/** The newest checkpoint stored (set here). */
	lastCheckpoint?: { epoch: number; sha256: string; size: number };
}

/**
 * Runs the job to its end: resolves once `completed` or `failed` is reported (or at once
 * when the job was stopped — a stop reports nothing, the scheduler already knows). Never rejects.
 */
export async function runJob<I>(
	job: TrainingJobRun,
	tenant: string,
	progress: JobProgress,
	ports: JobRunnerPorts<I>,
	options: JobRunnerOptions,
): Promise<void> {
	const base: JobEventBase = {
		jobId: job.jobId,
		tenant,
		model: job.model,
		nodeID: options.nodeID,
	};
	try {
		const outcome = await train(job, base, progress, ports, options);
		// Another rank's replica is rank 0's: only rank 0 registers and reports the version.
		if ((job.gang?.rank ?? 0) > 0) return ports.metrics.finished("completed");
		// A study's trial segment: its metrics are what the study wants; only the best trial is registered.
		const registers = (job.spec as { register?: boolean }).register !== false;
		const importance = registers ? await assess(job, outcome, ports, options) : null;
		const version = registers
			? await register(job, outcome, importance, ports)
			: { version: null };
		ports.metrics.finished("completed");
		const metrics: Record<string, number> = {};
		for (const m of outcome.version.metrics) metrics[m.name] = m.value;
		await ports.emit("completed", {
			...base,
			version: version.version,
			state: outcome.state,
			metrics,
			bestEpoch: outcome.training.bestEpoch,
			epochsRun: outcome.training.epochs,
			stoppedEarly: outcome.training.stoppedEarly,
			...(job.attempt !== undefined ? { attempt: job.attempt } : {}),
			...(progress.lastMetrics
				? { lastEpoch: { epoch: progress.epoch, metrics: progress.lastMetrics } }
				: {}),
			...(progress.lastCheckpoint ? { checkpoint: progress.lastCheckpoint } : {}),
			...dataParallelSummary(outcome),
		});
	} catch (err) {
		if (progress.signal.aborted) return;
		const final = ports.isFinal(err);
		ports.metrics.finished("failed");
		ports.warn(`Training job ${job.jobId} failed:`, (err as Error).message);
		const lostNodeID = options.lostNode?.() ?? null;
		await ports.emit("failed", {
			...base,
			reason: (err as Error).message,
			final,
			...(lostNodeID !== null ? { lostNodeID } : {}),
			...(job.attempt !== undefined ? { attempt: job.attempt } : {}),
		});
	}
}

/** A data-parallel run's workers, speed and exchange cost, over its epochs; {} for one worker. */
function dataParallelSummary(
	outcome: TrainingOutcome,
): Pick<JobRunnerEvents["completed"], "dataParallel"> {
	// `?? []`: an outcome from the job's train seam may carry no history.
	const epochs = (outcome.training.history ?? []).filter(h => h.communication !== undefined);
	if (epochs.length === 0) return {};
	const last = epochs[epochs.length - 1].communication!;
	const mean = (f: (h: (typeof epochs)[number]) => number) =>
		epochs.reduce((sum, h) => sum + f(h), 0) / epochs.length;
	return {
		dataParallel: {
			workers: last.workers,
			samplesPerSecond: mean(h => h.samplesPerSecond),
			msPerStep: mean(h => h.communication!.msPerStep),
			bytesPerStep: last.bytesPerStep,
		},
	};
}

/** Reads the dataset and the checkpoint, and trains, reporting the backend, epochs and checkpoints. */
async function train<I>(
	job: TrainingJobRun,
	base: JobEventBase,
	progress: JobProgress,
	ports: JobRunnerPorts<I>,
	options: JobRunnerOptions,
): Promise<TrainingOutcome> {
	// Streamed and decrypted on the way: the plaintext never touches a disk.
	// Read again while no artifacts service answers (a control node restarting): not "not found".
	const read = (sha256: string) => deliveredBy(ports)(() => ports.readBlob(sha256), true);
	const datasetFile = await read(job.dataset.sha256);
	if (datasetFile === null) {
		throw new NotFoundError(
			"dataset file",
			`${job.dataset.ref} (sha256 ${job.dataset.sha256})`,
		);
	}
	const dataset = await parseDataset(datasetFile, {
		format: job.dataset.format as "csv" | "ndjson",
		labelColumn: job.dataset.labelColumn ?? undefined,
		maxBytes: Number.MAX_SAFE_INTEGER,
	});
	let resumeFrom: Uint8Array | null = null;
	if (job.checkpoint) {
		const file = await read(job.checkpoint.sha256);
		if (file !== null) resumeFrom = new Uint8Array(await buffer(file));
	}
	const gang = job.gang ?? null;
	const reports = (gang?.rank ?? 0) === 0;
	return (options.train ?? runTrainingJob)({
		dataset,
		spec: job.spec as unknown as JobSpec,
		jobId: job.jobId,
		resumeFrom,
		backend: options.backend ?? "auto",
		parallel: gang ? { rank: gang.rank, size: gang.nodes.length } : null,
		callbacks: reports
			? reportingCallbacks(job, base, progress, ports, options)
			: {
					signal: progress.signal,
					...(options.exchange ? { exchange: options.exchange } : {}),
				},
	});
}

/** Rank 0's (or a lone trainer's) callbacks: the backend, every epoch and checkpoint reported. */
function reportingCallbacks<I>(
	job: TrainingJobRun,
	base: JobEventBase,
	progress: JobProgress,
	ports: JobRunnerPorts<I>,
	options: JobRunnerOptions,
): TrainCallbacks {
	return {
		signal: progress.signal,
		...(options.exchange ? { exchange: options.exchange } : {}),
		onBackend: backend => {
			ports.metrics.device(backend.device);
			void ports.emit("started", {
				...base,
				fromEpoch: (job.checkpoint?.epoch ?? 0) + 1,
				backend: backend.name,
				device: backend.device,
			});
		},
		onProgress: p => {
			const metrics = { loss: p.loss, ...p.metrics, ...(p.validation ?? {}) };
			progress.epoch = p.epoch;
			progress.lastMetrics = metrics;
			ports.metrics.epoch(p.samplesPerSecond);
			void ports.emit("progress", {
				...base,
				epoch: p.epoch,
				epochs: p.epochs,
				metrics,
				samplesPerSecond: p.samplesPerSecond,
				etaMs: p.etaMs,
				...(p.communication
					? {
							communication: {
								workers: p.communication.workers,
								msPerStep: p.communication.msPerStep,
								bytesPerStep: p.communication.bytesPerStep,
							},
						}
					: {}),
			});
		},
		onCheckpoint: async (epoch, bytes) => {
			// Stored even while no control node answers (tried again until one does: the run's
			// last checkpoint is what a study's trial or a resumed job goes on from); the run
			// trains on meanwhile. Given up only when the job stops.
			let stored: StoredBlob;
			try {
				stored = await deliveredBy(ports)(
					() => ports.storeArtifact(bytes, () => ports.identity()),
					true,
				);
			} catch (err) {
				ports.warn(
					`Training job ${job.jobId}: checkpoint of epoch ${epoch} not stored (the next one will be):`,
					(err as Error).message,
				);
				return;
			}
			if ((progress.lastCheckpoint?.epoch ?? 0) < epoch)
				progress.lastCheckpoint = { epoch, sha256: stored.sha256, size: stored.size };
			await ports.emit("checkpoint", {
				...base,
				epoch,
				sha256: stored.sha256,
				size: stored.size,
			});
		},
	};
}

/** The outcome's assessment (options.assess); null when there is none or it failed. */
async function assess<I>(
	job: TrainingJobRun,
	outcome: TrainingOutcome,
	ports: JobRunnerPorts<I>,
	options: JobRunnerOptions,
): Promise<unknown> {
	if (!options.assess) return null;
	try {
		return await options.assess(outcome, job);
	} catch (err) {
		ports.warn(
			`Training job ${job.jobId}: no importance for its version:`,
			(err as Error).message,
		);
		return null;
	}
}

/** Stores the ONNX model and the TF.js files, and registers the version that serves the ONNX. */
async function register<I>(
	job: TrainingJobRun,
	outcome: TrainingOutcome,
	importance: unknown,
	ports: JobRunnerPorts<I>,
): Promise<{ version: string }> {
	const delivered = deliveredBy(ports);
	const store = (bytes: Uint8Array) =>
		delivered(() => ports.storeArtifact(bytes, () => ports.identity()), true);
	const onnx = await store(outcome.onnx);
	const alternates: TrainedVersion["details"]["alternates"] = [];
	if (outcome.tfjs) {
		const stored = await store(await tfjsTar(outcome.tfjs));
		alternates.push({ format: "tfjs", artifact: { sha256: stored.sha256, size: stored.size } });
	}
	const version = trainedVersion(job, outcome, importance, onnx, alternates);
	return registerJobVersion(
		// Sent again after a lost answer: the job's key answers the version the first one made.
		() => delivered(() => ports.registerVersion(version, ports.identity()), true),
		earlier =>
			ports.warn(
				`Training job ${job.jobId}: an earlier attempt registered its version ${earlier}; this attempt's model is not registered.`,
			),
	);
}

/** `send` through ports.untilDelivered, when the ports have it; else once. */
function deliveredBy<I>(ports: JobRunnerPorts<I>) {
	return <T>(send: () => Promise<T>, idempotent: boolean): Promise<T> =>
		ports.untilDelivered ? ports.untilDelivered(send, idempotent) : send();
}

/** What `versions.create` takes for the job's trained version. */
function trainedVersion(
	job: TrainingJobRun,
	outcome: TrainingOutcome,
	importance: unknown,
	onnx: StoredBlob,
	alternates: TrainedVersion["details"]["alternates"],
): TrainedVersion {
	return {
		model: job.model,
		bump: "minor",
		format: "onnx",
		artifact: { sha256: onnx.sha256, size: onnx.size },
		description: `Trained by job ${job.jobId} on dataset ${job.dataset.ref}.`,
		schema: outcome.version.schema,
		pipeline: outcome.version.pipeline,
		labels: outcome.version.labels,
		metrics: outcome.version.metrics,
		lineage: outcome.version.lineage,
		details: {
			alternates,
			split: outcome.split,
			backend: outcome.training.backend,
			...(importance != null ? { importance } : {}),
		},
		state: outcome.state,
		idempotencyKey: jobVersionKey(job.jobId),
	};
}
