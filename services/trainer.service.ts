/**
 * trainer — runs training jobs on this node (workers, all-in-one) when the scheduler sends
 * them: the job flow (lib/training/job-runner.ts) reads the dataset from artifacts, trains
 * TF.js in a worker thread (lib/training), reports progress per epoch, stores checkpoints, and
 * registers the trained version (ONNX served by default, the TF.js files kept beside it). A
 * job that fails here goes back to the scheduler, which retries it elsewhere or marks it Failed.
 */
import { FinishedRuns } from "../lib/training/finished-runs";
import { trainedImportance } from "../lib/explain/trained-importance";
import { fleetInternal } from "../lib/accounts/access";
import { Readable } from "node:stream";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import type { RequestMeta } from "../lib/accounts/access";
import type { FleetTrust } from "../lib/accounts/fleet-trust";
import { uploadArtifact } from "../lib/artifacts/artifact-upload";
import type { LocalBlobsOptions } from "../lib/artifacts/local-blobs";
import { EVENTS, type EventPayloads } from "../lib/events";
import { SERVICE } from "../lib/fleet/node-role";
import type { VersionView } from "../lib/registry/version-store";
import type { TrainerRunParams } from "../lib/scheduler/training-dispatcher";
import {
	runJob,
	type JobProgress,
	type JobRunnerEvents,
	type JobRunnerPorts,
	type TrainedVersion,
} from "../lib/training/job-runner";
import { nodeMetricsOf } from "../lib/metrics/node-metrics";
import { runOptimizationJob, type OptimizedVersion } from "../lib/optimization/optimization-job";
import { isOptimizationSpec } from "../lib/optimization/optimization-spec";
import { trainingMetricsFor } from "../lib/training/training-metrics";
import { vectorBytes, vectorOf } from "../lib/training/data-parallel";
import { GangLink, STEP_TIMEOUTS } from "../lib/training/gang-link";
import { StateConflictError } from "../lib/errors";
import { deliver, notDelivered, unanswered } from "../lib/training/report-delivery";
import type { BackendPreference } from "../lib/training/training-types";
import type { UsageMeter } from "../lib/metering/usage-meter";
import { usageMeterMixin, type UsageMeterService } from "../mixins/usage-meter.mixin";
import { domainEventsMixin, type DomainEventMethods } from "../mixins/domain-events.mixin";
import { localBlobsMixin, type LocalBlobsService } from "../mixins/local-blobs.mixin";
import type { Ctx } from "../mixins/params";

/** The job runner's events, as the bus names them. */
const JOB_EVENTS = {
	started: EVENTS.trainingStarted,
	progress: EVENTS.trainingProgress,
	checkpoint: EVENTS.trainingCheckpoint,
	completed: EVENTS.trainingCompleted,
	failed: EVENTS.trainingFailed,
} as const satisfies Record<keyof JobRunnerEvents, string>;

/** Compiles only while each runner event's payload is the bus event's (the emit below casts). */
const PAYLOADS_MATCH: {
	[K in keyof JobRunnerEvents]: JobRunnerEvents[K] extends EventPayloads[(typeof JOB_EVENTS)[K]]
		? true
		: false;
} = { started: true, progress: true, checkpoint: true, completed: true, failed: true };
void PAYLOADS_MATCH;

type TrainerThis = DomainEventMethods & LocalBlobsService;

interface TrainerMethods {
	reportToScheduler(
		event: "completed" | "failed",
		report: unknown,
		asTenant: () => RequestMeta,
	): Promise<void>;
}

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
	/** An optimization job's latency sweep, per batch size and model, ms; default 300. */
	optimizationSweepMs?: number;
	/** How often usage counts (training seconds) are flushed to accounts, ms; default 10 000. */
	usageFlushMs?: number;
}

interface RunningJob {
	params: TrainerRunParams;
	abort: AbortController;
	/** Its abort signal, and the epoch the runner reached (for `status`). */
	progress: JobProgress;
	startedAt: number;
	/** Metering: until when its time is counted, ms since the epoch. */
	meteredTo: number;
	tenant: string;
	/** Data-parallel jobs: this rank's link to the others. */
	link: GangLink | null;
}

/** What a rank ≥ 1 sends rank 0 for one step of a data-parallel job. */
interface AllreduceParams {
	jobId: string;
	attempt: number;
	step: number;
	rank: number;
	/** The contribution's float32 values as bytes (lib/training/data-parallel.ts). */
	vector: Uint8Array;
}

/** The job's terminal reports: sent to the scheduler until acknowledged, besides the broadcast. */
const TERMINAL_EVENTS = new Set<keyof JobRunnerEvents>(["completed", "failed"]);

/**
 * A job's untilDelivered port (lib/training/job-runner.ts): tried again while no control node
 * answers, until answered or `signal` aborts (the job stopped, the node stopping).
 */
function untilDeliveredFor(jobId: string, signal: AbortSignal, warn: (message: string) => void) {
	return <T>(send: () => Promise<T>, idempotent: boolean): Promise<T> =>
		deliver(send, {
			retryable: idempotent ? unanswered : notDelivered,
			signal,
			onRetry: (err, tries, waitMs) => {
				if (tries === 1 || tries % 10 === 0)
					warn(
						`Training job ${jobId}: no control node answers (${(err as Error).message}); trying again in ${waitMs} ms (try ${tries}).`,
					);
			},
		});
}

/** A data-parallel run's link to its gang (lib/training/gang-link.ts); null for one worker. */
function gangLinkFor(
	broker: ServiceBroker,
	trust: FleetTrust,
	params: TrainerRunParams,
	tenant: string,
): GangLink | null {
	const gang = params.gang;
	if (!gang || gang.nodes.length <= 1) return null;
	return new GangLink(gang, {
		sendToRankZero: async (nodeID, step, vector) => {
			const answer = await broker.call<{ vector: Uint8Array }, AllreduceParams>(
				`${SERVICE.trainer}.allreduce`,
				{
					jobId: params.jobId,
					attempt: params.attempt,
					step,
					rank: gang.rank,
					vector: vectorBytes(vector),
				},
				{
					nodeID,
					meta: trust.actAs(tenant, "owner", broker.nodeID),
					timeout: STEP_TIMEOUTS.firstStepMs + 10_000,
					retries: 0,
				},
			);
			return vectorOf(answer.vector);
		},
	});
}

export function trainerService(options: TrainerServiceOptions): ServiceSchema {
	// Long because it is a service schema (a declaration, not a procedure): the run, cancel and
	// status actions over the running jobs; the job flow itself is lib/training/job-runner.ts.
	const running = new Map<string, RunningJob>();
	/** Attempts that ran here to their end, however it went: never run again. */
	const finished = new FinishedRuns();
	/** Aborted when the service stops: reports still undelivered are given up. */
	const stopping = new AbortController();
	/**
	 * Counts a job's training time since it was last counted (metering): whole seconds at each
	 * flush; at the job's end (`final`) the started second counts too.
	 */
	const meterJob = (meter: UsageMeter, job: RunningJob, final = false): void => {
		const elapsed = (Date.now() - job.meteredTo) / 1000;
		const seconds = final ? Math.ceil(elapsed) : Math.floor(elapsed);
		if (seconds <= 0) return;
		job.meteredTo += seconds * 1000;
		const gpu = (job.params.spec as { resources?: { gpu?: unknown } }).resources?.gpu === true;
		meter.training(job.tenant, job.params.model, seconds, gpu);
	};

	return {
		name: SERVICE.trainer,
		mixins: [
			domainEventsMixin(),
			localBlobsMixin({ dataDir: options.dataDir, blobs: options.blobs }),
			// Usage metering: training seconds of running jobs, counted at each flush.
			usageMeterMixin({
				flushMs: options.usageFlushMs ?? 10_000,
				beforeFlush: meter => {
					for (const job of running.values()) meterJob(meter, job);
				},
			}),
		],

		actions: {
			/** Starts (or resumes) a job; answers once accepted. Fleet-internal: the scheduler calls it. */
			run: fleetInternal({
				visibility: "public",
				params: {
					jobId: { type: "uuid" },
					model: { type: "string", min: 1 },
					spec: { type: "object" },
					dataset: { type: "object" },
					checkpoint: { type: "object", optional: true, nullable: true },
					attempt: { type: "number", integer: true, min: 1 },
					gang: {
						type: "object",
						optional: true,
						nullable: true,
						props: {
							rank: { type: "number", integer: true, min: 0 },
							nodes: { type: "array", min: 1, items: "string" },
						},
					},
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
					// An attempt that ran here to its end: its report is delivered, or on its way
					// (a new leader asks the trainers of the running jobs it finds to run them).
					if (
						!running.has(ctx.params.jobId) &&
						finished.has(ctx.params.jobId, ctx.params.attempt)
					)
						return { accepted: true, nodeID: this.broker.nodeID };
					// A stopped job still winding down (up to a batch) no longer holds its slot.
					const busy = [...running.values()].filter(j => !j.abort.signal.aborted).length;
					if (busy >= options.slots && !running.has(ctx.params.jobId)) {
						throw new Errors.MoleculerRetryableError(
							`This trainer is busy (${busy} of ${options.slots} slots).`,
							503,
							"OVERLOADED",
						);
					}
					// The same attempt asked again: it runs already. Another attempt (the scheduler
					// requeued the job while this run winds down, e.g. a data-parallel gang lost a
					// node): that run stops, and the new one starts.
					const earlier = running.get(ctx.params.jobId);
					if (
						earlier &&
						!earlier.abort.signal.aborted &&
						earlier.params.attempt === ctx.params.attempt
					)
						return { accepted: true, nodeID: this.broker.nodeID };
					earlier?.abort.abort(new Error(`superseded by attempt ${ctx.params.attempt}`));
					const abort = new AbortController();
					const job: RunningJob = {
						params: ctx.params,
						abort,
						progress: {
							signal: abort.signal,
							epoch: ctx.params.checkpoint?.epoch ?? 0,
						},
						startedAt: Date.now(),
						meteredTo: Date.now(),
						tenant,
						link: gangLinkFor(this.broker, options.trust, ctx.params, tenant),
					};
					running.set(ctx.params.jobId, job);
					// `fleetInternal(…)` takes the action out of the schema's `this` typing.
					const self = this as unknown as {
						runJob(job: RunningJob, tenant: string): Promise<void>;
					};
					const { meter } = this as unknown as UsageMeterService;
					void self.runJob(job, tenant).finally(() => {
						finished.add(ctx.params.jobId, ctx.params.attempt);
						meterJob(meter, job, true);
						job.link?.close(`job ${ctx.params.jobId}'s run on rank 0 ended`);
						if (running.get(ctx.params.jobId) === job) running.delete(ctx.params.jobId);
					});
					return { accepted: true, nodeID: this.broker.nodeID };
				},
			}),

			/** Stops a job running here (cancelled, or past its deadline). */
			cancel: fleetInternal({
				visibility: "public",
				params: { jobId: { type: "uuid" } },
				handler(ctx: Ctx<{ jobId: string }>) {
					const job = running.get(ctx.params.jobId);
					job?.abort.abort(new Error("cancelled"));
					return { cancelled: job !== undefined };
				},
			}),

			/**
			 * Data-parallel jobs on their rank 0: a rank's contribution for a step, answered with
			 * the step's reduced vector once every rank's is in. Fleet-internal: ranks call it.
			 */
			allreduce: fleetInternal({
				visibility: "public",
				params: {
					jobId: { type: "uuid" },
					attempt: { type: "number", integer: true, min: 1 },
					step: { type: "number", integer: true, min: 0 },
					rank: { type: "number", integer: true, min: 1 },
					vector: { type: "any" },
				},
				async handler(ctx: Ctx<AllreduceParams>) {
					const { jobId, attempt, step, rank } = ctx.params;
					const job = running.get(jobId);
					const rendezvous = job?.link?.rendezvous;
					if (
						!job ||
						!rendezvous ||
						job.params.attempt !== attempt ||
						job.tenant !== ctx.meta.tenant ||
						job.abort.signal.aborted
					)
						throw new StateConflictError(
							`Training job ${jobId} (attempt ${attempt}) is not running on ${this.broker.nodeID} as rank 0 of a data-parallel gang.`,
							{ jobId, attempt },
						);
					const reduced = await rendezvous.contribute(
						step,
						rank,
						vectorOf(ctx.params.vector),
					);
					return { vector: vectorBytes(reduced) };
				},
			}),

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
							epoch: j.progress.epoch,
							startedAt: new Date(j.startedAt).toISOString(),
						})),
					};
				},
			},
		},

		methods: {
			/**
			 * Sends a job's terminal report to the scheduler's leader until it acknowledges it
			 * (lib/training/report-delivery.ts); given up only when this node stops.
			 */
			async reportToScheduler(
				event: "completed" | "failed",
				report: unknown,
				asTenant: () => RequestMeta,
			): Promise<void> {
				const jobId = (report as { jobId: string }).jobId;
				await deliver(
					() =>
						this.broker.call(
							`${SERVICE.scheduler}.jobs.report`,
							{ event, report },
							{ meta: asTenant(), timeout: 10_000, retries: 0 },
						),
					{
						retryable: err => !(err instanceof Errors.MoleculerClientError),
						signal: stopping.signal,
						onRetry: (err, tries, waitMs) => {
							if (tries === 1 || tries % 10 === 0)
								this.logger.warn(
									`Training job ${jobId}: its ${event} report is not acknowledged yet (${(err as Error).message}); sending it again in ${waitMs} ms (try ${tries}).`,
								);
						},
					},
				).catch((err: unknown) =>
					this.logger.warn(
						`Training job ${jobId}: its ${event} report was not delivered:`,
						err,
					),
				);
			},

			/** Runs the job (lib/training/job-runner.ts) with this node's ports. */
			async runJob(job: RunningJob, tenant: string): Promise<void> {
				const service = this as unknown as TrainerThis;
				/** The job's tenant, signed afresh for each call: a job may run for hours. */
				const asTenant = (): RequestMeta =>
					options.trust.actAs(tenant, "owner", this.broker.nodeID);
				const ports: JobRunnerPorts<RequestMeta> = {
					identity: asTenant,
					readBlob: sha256 => service.blobs.read(sha256),
					storeArtifact: (bytes, identity) =>
						uploadArtifact(
							(action, p, o) =>
								this.broker.call(action, p, { ...o, meta: identity() }),
							Readable.from([Buffer.from(bytes)]),
						),
					registerVersion: (version, meta) =>
						this.broker.call<VersionView, TrainedVersion>(
							`${SERVICE.registry}.versions.create`,
							version,
							{ meta },
						),
					emit: async (event, payload) => {
						await service.broadcastEvent(JOB_EVENTS[event], payload as never);
						// A broadcast nobody hears (no control node up) is lost: the terminal
						// report also goes to the scheduler, in the background, until acknowledged.
						if (TERMINAL_EVENTS.has(event))
							void (this as unknown as TrainerMethods).reportToScheduler(
								event as "completed" | "failed",
								payload,
								asTenant,
							);
					},
					metrics: trainingMetricsFor(nodeMetricsOf(this.broker), tenant),
					isFinal: err => err instanceof Errors.MoleculerClientError,
					untilDelivered: untilDeliveredFor(
						job.params.jobId,
						AbortSignal.any([job.abort.signal, stopping.signal]),
						message => this.logger.warn(message),
					),
					warn: (message, err) => this.logger.warn(message, err),
				};
				if (isOptimizationSpec(job.params.spec)) {
					// An optimization job (lib/optimization): same ports, same training events.
					await runOptimizationJob(
						job.params,
						tenant,
						job.abort.signal,
						{
							...ports,
							registerVersion: (version, meta) =>
								this.broker.call<VersionView, OptimizedVersion>(
									`${SERVICE.registry}.versions.create`,
									version,
									{ meta },
								),
							emit: (event, payload) =>
								service.broadcastEvent(JOB_EVENTS[event], payload as never),
						},
						{ nodeID: this.broker.nodeID, sweepMs: options.optimizationSweepMs },
					);
					return;
				}
				const link = job.link;
				await runJob(job.params, tenant, job.progress, ports, {
					...(link
						? {
								exchange: (step, vector) => link.exchange(step, vector),
								lostNode: () => link.lostNode(),
							}
						: {}),
					nodeID: this.broker.nodeID,
					backend: options.backend ?? "auto",
					assess: (outcome, run) =>
						trainedImportance(outcome, {
							seed: (run.spec as { seed: number }).seed,
							datasetSha256: run.dataset.sha256,
						}),
				});
			},
		},

		events: {
			/** A data-parallel gang's step fails at once when one of its nodes leaves. */
			"$node.disconnected"(ctx: Ctx<{ node: { id: string } }>) {
				for (const job of running.values()) job.link?.nodeLeft(ctx.params.node.id);
			},
		},

		stopped() {
			// The scheduler sees the node leave and queues its jobs again (they resume from checkpoints).
			// Before the local-blobs mixin's stop (a mixin's `stopped` runs after the service's).
			for (const job of running.values()) job.abort.abort(new Error("node stopping"));
			stopping.abort(new Error("node stopping"));
		},
	};
}
