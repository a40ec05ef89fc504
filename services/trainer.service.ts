/**
 * trainer — runs training jobs on this node (workers, all-in-one) when the scheduler sends
 * them: reads the dataset from artifacts, trains TF.js in a worker thread (lib/training), emits
 * progress per epoch, stores checkpoints, and registers the trained version (ONNX served by
 * default, the TF.js files kept beside it). A job that fails here goes back to the scheduler,
 * which retries it elsewhere or marks it Failed.
 */
import { registerTrainingMetrics, trainingMetricsFor } from "../lib/training/training-metrics";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import type { RequestMeta } from "../lib/accounts/access";
import type { FleetTrust } from "../lib/accounts/fleet-trust";
import type { ArtifactCall } from "../lib/artifacts/artifact-protocol";
import { uploadArtifact } from "../lib/artifacts/artifact-upload";
import { LocalBlobs, type LocalBlobsOptions } from "../lib/artifacts/local-blobs";
import { parseDataset } from "../lib/datasets/parse-dataset";
import { NotFoundError } from "../lib/errors";
import { EVENTS, type EventPayloads } from "../lib/events";
import { SERVICE } from "../lib/fleet/node-role";
import type { VersionView } from "../lib/registry/version-store";
import type { TrainerRunParams } from "../lib/scheduler/training-dispatcher";
import type { JobSpec } from "../lib/training/job-spec";
import { tfjsTar } from "../lib/training/tfjs-tar";
import { runTrainingJob } from "../lib/training/training-run";
import type { BackendPreference } from "../lib/training/training-types";

export interface TrainerServiceOptions {
	dataDir: string;
	/** Encryption at rest of the blobs this node reads (its key). Default none. */
	blobs?: LocalBlobsOptions;
	/** Jobs run at once on this node (advertised as trainerSlots). */
	slots: number;
	/** TF.js backend: "auto" uses tfjs-node(-gpu) when installed, else wasm. */
	backend?: BackendPreference;
	/** Signs the identity of the job's tenant for the calls the job makes (a job outlasts any one token). */
	trust: FleetTrust;
}

interface RunningJob {
	params: TrainerRunParams;
	abort: AbortController;
	epoch: number;
	startedAt: number;
}

type Ctx<P> = Context<P, RequestMeta>;

export function trainerService(options: TrainerServiceOptions): ServiceSchema {
	let blobs: LocalBlobs;
	const running = new Map<string, RunningJob>();

	return {
		name: SERVICE.trainer,

		actions: {
			/** Starts (or resumes) a job; answers once accepted. Fleet-internal: the scheduler calls it. */
			run: {
				visibility: "public",
				params: {
					jobId: { type: "uuid" },
					model: { type: "string", min: 1 },
					spec: { type: "object" },
					dataset: { type: "object" },
					checkpoint: { type: "object", optional: true, nullable: true },
					attempt: { type: "number", integer: true, min: 1 },
				},
				handler(ctx: Ctx<TrainerRunParams>) {
					const tenant = ctx.meta.tenant;
					if (typeof tenant !== "string") {
						throw new Errors.MoleculerClientError(
							"trainer.run acts for the job's tenant: call it with that tenant's signed identity.",
							400,
							"INVALID_INPUT",
						);
					}
					// A stopped job still winding down (up to a batch) no longer holds its slot.
					const busy = [...running.values()].filter(j => !j.abort.signal.aborted).length;
					if (busy >= options.slots && !running.has(ctx.params.jobId)) {
						throw new Errors.MoleculerRetryableError(
							`This trainer is busy (${busy} of ${options.slots} slots).`,
							503,
							"OVERLOADED",
						);
					}
					if (running.has(ctx.params.jobId))
						return { accepted: true, nodeID: this.broker.nodeID };
					const job: RunningJob = {
						params: ctx.params,
						abort: new AbortController(),
						epoch: ctx.params.checkpoint?.epoch ?? 0,
						startedAt: Date.now(),
					};
					running.set(ctx.params.jobId, job);
					void this.runJob(job, tenant).finally(() => running.delete(ctx.params.jobId));
					return { accepted: true, nodeID: this.broker.nodeID };
				},
			},

			/** Stops a job running here (cancelled, or past its deadline). */
			cancel: {
				visibility: "public",
				params: { jobId: { type: "uuid" } },
				handler(ctx: Context<{ jobId: string }>) {
					const job = running.get(ctx.params.jobId);
					job?.abort.abort(new Error("cancelled"));
					return { cancelled: job !== undefined };
				},
			},

			/** The jobs running on this node. */
			status: {
				visibility: "public",
				handler() {
					return {
						nodeID: this.broker.nodeID,
						slots: options.slots,
						jobs: [...running.values()].map(j => ({
							jobId: j.params.jobId,
							model: j.params.model,
							epoch: j.epoch,
							startedAt: new Date(j.startedAt).toISOString(),
						})),
					};
				},
			},
		},

		methods: {
			async runJob(job: RunningJob, tenant: string): Promise<void> {
				const { params } = job;
				const base = { jobId: params.jobId, tenant, model: params.model };
				/** The job's tenant, signed afresh for each call: a job may run for hours. */
				const asTenant = (): RequestMeta =>
					options.trust.actAs(tenant, "owner", this.broker.nodeID);
				const nodeID = this.broker.nodeID;
				const broadcast = <E extends keyof EventPayloads>(
					event: E,
					payload: EventPayloads[E],
				) => this.broker.broadcast(event, payload).catch(() => undefined);
				const call: ArtifactCall = (action, p, o) =>
					this.broker.call(action, p, { ...o, meta: asTenant() });
				const recorded = trainingMetricsFor(this.broker.metrics, tenant);
				try {
					// Streamed and decrypted on the way: the plaintext never touches a disk.
					const datasetFile = await blobs.read(params.dataset.sha256);
					if (datasetFile === null) {
						throw new NotFoundError(
							"dataset file",
							`${params.dataset.ref} (sha256 ${params.dataset.sha256})`,
						);
					}
					const dataset = await parseDataset(datasetFile, {
						format: params.dataset.format as "csv" | "ndjson",
						labelColumn: params.dataset.labelColumn ?? undefined,
						maxBytes: Number.MAX_SAFE_INTEGER,
					});
					let resumeFrom: Uint8Array | null = null;
					if (params.checkpoint) {
						const file = await blobs.read(params.checkpoint.sha256);
						if (file !== null) resumeFrom = new Uint8Array(await buffer(file));
					}
					const spec = params.spec as unknown as JobSpec;
					const outcome = await runTrainingJob({
						dataset,
						spec,
						jobId: params.jobId,
						resumeFrom,
						backend: options.backend ?? "auto",
						callbacks: {
							signal: job.abort.signal,
							onBackend: backend => {
								recorded.device(backend.device);
								void broadcast(EVENTS.trainingStarted, {
									...base,
									nodeID,
									fromEpoch: (params.checkpoint?.epoch ?? 0) + 1,
									backend: backend.name,
									device: backend.device,
								});
							},
							onProgress: progress => {
								job.epoch = progress.epoch;
								recorded.epoch(progress.samplesPerSecond);
								void broadcast(EVENTS.trainingProgress, {
									...base,
									nodeID,
									epoch: progress.epoch,
									epochs: progress.epochs,
									metrics: {
										loss: progress.loss,
										...progress.metrics,
										...(progress.validation ?? {}),
									},
									samplesPerSecond: progress.samplesPerSecond,
									etaMs: progress.etaMs,
								});
							},
							onCheckpoint: async (epoch, bytes) => {
								const stored = await uploadArtifact(
									call,
									Readable.from([Buffer.from(bytes)]),
								);
								await broadcast(EVENTS.trainingCheckpoint, {
									...base,
									nodeID,
									epoch,
									sha256: stored.sha256,
									size: stored.size,
								});
							},
						},
					});
					const onnx = await uploadArtifact(
						call,
						Readable.from([Buffer.from(outcome.onnx)]),
					);
					const alternates = [];
					if (outcome.tfjs) {
						const tar = await tfjsTar(outcome.tfjs);
						const stored = await uploadArtifact(
							call,
							Readable.from([Buffer.from(tar)]),
						);
						alternates.push({
							format: "tfjs",
							artifact: { sha256: stored.sha256, size: stored.size },
						});
					}
					const version = await this.broker.call<VersionView, Record<string, unknown>>(
						`${SERVICE.registry}.versions.create`,
						{
							model: params.model,
							bump: "minor",
							format: "onnx",
							artifact: { sha256: onnx.sha256, size: onnx.size },
							description: `Trained by job ${params.jobId} on dataset ${params.dataset.ref}.`,
							schema: outcome.version.schema,
							pipeline: outcome.version.pipeline,
							labels: outcome.version.labels,
							metrics: outcome.version.metrics,
							lineage: outcome.version.lineage,
							details: {
								alternates,
								split: outcome.split,
								backend: outcome.training.backend,
							},
							state: outcome.state,
						},
						{ meta: asTenant() },
					);
					recorded.finished("completed");
					const metrics: Record<string, number> = {};
					for (const m of outcome.version.metrics) metrics[m.name] = m.value;
					await broadcast(EVENTS.trainingCompleted, {
						...base,
						nodeID,
						version: version.version,
						state: outcome.state,
						metrics,
						bestEpoch: outcome.training.bestEpoch,
						epochsRun: outcome.training.epochs,
						stoppedEarly: outcome.training.stoppedEarly,
					});
				} catch (err) {
					const cancelled = job.abort.signal.aborted;
					if (cancelled) return;
					// Bad data or a bad spec fails the same way on any node: final. Others may be this node's.
					const final = err instanceof Errors.MoleculerClientError;
					recorded.finished("failed");
					this.logger.warn(
						`Training job ${params.jobId} failed:`,
						(err as Error).message,
					);
					await broadcast(EVENTS.trainingFailed, {
						...base,
						nodeID,
						reason: (err as Error).message,
						final,
					});
				}
			},
		},

		created() {
			registerTrainingMetrics(this.broker.metrics);
			const call: ArtifactCall = (action, p, o) => this.broker.call(action, p, o);
			blobs = new LocalBlobs(options.dataDir, call, options.blobs);
		},

		async started() {
			await blobs.open();
		},

		async stopped() {
			// The scheduler sees the node leave and queues its jobs again (they resume from checkpoints).
			for (const job of running.values()) job.abort.abort(new Error("node stopping"));
			await blobs.close();
		},
	};
}
