/**
 * The scheduler's training queue: `jobs.*` (enqueue, get, list, cancel), the dispatcher that
 * starts queued jobs on trainer nodes (retrying elsewhere, failing past deadlines), and the
 * job records the trainers' events keep current. Only the leading scheduler writes them.
 */
import { nodeMetricsOf } from "../../lib/metrics/node-metrics";
import { countEpoch, setTrainingQueueGauges } from "../../lib/scheduler/control-metrics";
import type { Context, Service, ServiceSchema } from "moleculer";
import { requires, scopeOf, fleetInternal } from "../../lib/accounts/access";
import type { FleetTrust } from "../../lib/accounts/fleet-trust";
import {
	EVENTS,
	type TrainingCheckpointEvent,
	type TrainingCompletedEvent,
	type TrainingFailedEvent,
	type TrainingProgressEvent,
	type TrainingStartedEvent,
} from "../../lib/events";
import type { FleetNode } from "../../lib/fleet/node-inventory";
import { readNodeMetadata } from "../../lib/fleet/node-metadata";
import { SERVICE } from "../../lib/fleet/node-role";
import type { DatasetView } from "../../lib/registry/dataset-store";
import type { TrainerNode } from "../../lib/scheduler/job-dispatch";
import { JOB_STATES, type JobState, type JobStore } from "../../lib/scheduler/job-store";
import { checkJobAgainstDataset } from "../../lib/scheduler/job-submission";
import { TrainingDispatcher, type TrainerRunParams } from "../../lib/scheduler/training-dispatcher";
import { validateJobSpec, type JobSpec } from "../../lib/training/job-spec";
import { TAGS_RULE } from "../../lib/studies/study-spec";
import { InvalidInputError, LeaseLostError } from "../../lib/errors";
import { optimizationTable, type VersionRow } from "../../lib/optimization/recommendation";
import {
	buildDatasetOptimizationJob,
	buildOptimizationJob,
	sourceJobId,
	type SourceVersionView,
} from "../../lib/optimization/optimization-source";
import type { DomainEventMethods } from "../domain-events.mixin";
import type { QuotaGuardMethods } from "../quota-guard.mixin";
import { PAGE_PARAMS, type Ctx, type PageParams } from "../params";

/** The service as the queue's actions see it: the domain-events mixin and `dispatch`. */
type Queue = Service & DomainEventMethods & { dispatch(): Promise<void> };

export interface TrainingQueueMixinOptions {
	jobs: JobStore;
	/** Signs the identity of the tenant a job's run acts for. */
	trust: FleetTrust;
}

function failureKey(event: TrainingFailedEvent): string {
	return JSON.stringify([event.jobId, event.nodeID, event.reason]);
}

/**
 * A leader's record of a trainer's report; refused when the lease passed on meanwhile (the
 * node has stepped down, and the new leader records what follows).
 */
async function asLeader(write: Promise<unknown>): Promise<void> {
	await write.catch((err: unknown) => {
		if (!(err instanceof LeaseLostError)) throw err;
	});
}

type TrainerNodes = { trainerNodes(): TrainerNode[] };

/** Recording a trainer's terminal report, from its broadcast or from `jobs.report`. */
type Reports = {
	recordCompleted(p: TrainingCompletedEvent): Promise<void>;
	recordFailed(p: TrainingFailedEvent): Promise<void>;
};

/** The studies mixin's, when the service has it: the study loop's next pass. */
type StudyPasses = { advanceStudies(): Promise<void> };

/**
 * A data-parallel job asks for no more trainers than the fleet has (that fit it): it would
 * wait for ever. Fewer free ones is fine: it waits until that many are free at once.
 */
function checkWorkers(spec: JobSpec, trainers: readonly TrainerNode[]): void {
	if (spec.workers <= 1) return;
	const fitting = trainers.filter(t => t.available && (!spec.resources.gpu || t.gpus > 0));
	if (fitting.length >= spec.workers) return;
	const kind = spec.resources.gpu ? "trainers with a GPU" : "trainers";
	throw new InvalidInputError(
		`Invalid training job: workers: ${spec.workers} asked for, but ${fitting.length} ${kind} ${fitting.length === 1 ? "is" : "are"} connected; ask for at most ${Math.max(1, fitting.length)} or start more workers.`,
		{ field: "workers", connected: fitting.length },
	);
}

interface OptimizeParams {
	model: string;
	version: string;
	recipe: string;
	params?: unknown;
	acceptance?: unknown;
	priority?: unknown;
	dataset?: string;
	labelColumn?: string;
	features?: string[];
}

/** A dataset of the caller's tenant, as the registry (its owner) has it. */
function datasetOf(ctx: Context, ref: string): Promise<DatasetView> {
	return ctx.call<DatasetView, { ref: string }>(`${SERVICE.registry}.datasets.get`, { ref });
}

/** Needs the fleet-nodes mixin (`fleet`, `isLeader`) and the domain-events mixin. */
export function trainingQueueMixin(options: TrainingQueueMixinOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the jobs.* actions, the
	// training events that move a job and the dispatch wiring, each short.
	const { jobs } = options;
	let dispatcher: TrainingDispatcher;
	/** Failures the dispatcher broadcast, so this node's handler skips them when they come back. */
	const ownFailures = new Set<string>();

	return {
		actions: {
			/** Every blob a training job's checkpoint holds, across tenants: artifact GC keeps them. Fleet-internal. */
			referencedArtifacts: fleetInternal({
				visibility: "public",
				handler(): Promise<string[]> {
					return jobs.referencedArtifacts();
				},
			}),

			/**
			 * Queues a training job for `target` (the model that gets the trained version); the
			 * rest is the job spec (lib/training/job-spec.ts), validated with errors naming the field.
			 */
			"jobs.enqueue": requires("train", {
				params: {
					target: { type: "string", min: 1, max: 256 },
					// The run's tags (docs/studies.md#runs), kept beside the spec.
					tags: { ...TAGS_RULE, optional: true },
					$$strict: false,
				},
				async handler(
					ctx: Ctx<Record<string, unknown> & { target: string; tags?: string[] }>,
				) {
					const scope = scopeOf(ctx);
					const { target, tags, ...input } = ctx.params;
					const spec = validateJobSpec(input);
					checkWorkers(spec, (this as unknown as TrainerNodes).trainerNodes());
					const dataset = await datasetOf(ctx, spec.dataset);
					checkJobAgainstDataset(spec, dataset);
					await ctx.call(`${SERVICE.registry}.models.get`, { name: target });
					await (this as unknown as QuotaGuardMethods).enforceQuota(
						ctx,
						"concurrentTrainingJobs",
						() => jobs.countActive(scope),
						1,
					);
					const job = await jobs.enqueue(scope, {
						model: target,
						datasetId: dataset.id,
						spec: spec as unknown as Record<string, unknown>,
						priority: spec.priority,
						gpu: spec.resources.gpu,
						workers: spec.workers,
						deadlineAt:
							spec.deadlineMs !== null
								? new Date(Date.now() + spec.deadlineMs)
								: null,
						tags: [...new Set(tags ?? [])],
					});
					(ctx.meta as { $statusCode?: number }).$statusCode = 201;
					const self = this as unknown as Queue;
					void self.broadcastEvent(EVENTS.jobQueued, {
						jobId: job.id,
						tenant: scope.tenantId,
						model: target,
						priority: job.priority,
						gpu: job.gpu,
					});
					void self.dispatch();
					return job;
				},
			}),

			/**
			 * Queues an optimization job (lib/optimization): `recipe` applied to `model@version`,
			 * producing the model's next minor version, evaluated on the source's test split or on
			 * the `dataset` named (lib/optimization/dataset-evaluation.ts).
			 */
			"jobs.optimize": requires("train", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", min: 1, max: 128 },
					recipe: { type: "string", min: 1, max: 64 },
					params: { type: "any", optional: true },
					acceptance: { type: "any", optional: true },
					priority: { type: "any", optional: true },
					dataset: { type: "string", min: 1, max: 256, optional: true },
					labelColumn: { type: "string", min: 1, max: 256, optional: true },
					features: {
						type: "array",
						items: { type: "string", min: 1, max: 256 },
						min: 1,
						max: 4096,
						optional: true,
					},
				},
				async handler(ctx: Ctx<OptimizeParams>) {
					const scope = scopeOf(ctx);
					const { model, version, ...request } = ctx.params;
					const source = await ctx.call<
						SourceVersionView,
						{ model: string; version: string }
					>(`${SERVICE.registry}.versions.get`, { model, version });
					const { spec, datasetId } =
						request.dataset !== undefined
							? buildDatasetOptimizationJob(
									request,
									source,
									await datasetOf(ctx, request.dataset),
								)
							: buildOptimizationJob(
									request,
									source,
									await jobs.get(scope, sourceJobId(source)),
								);
					await (this as unknown as QuotaGuardMethods).enforceQuota(
						ctx,
						"concurrentTrainingJobs",
						() => jobs.countActive(scope),
						1,
					);
					const job = await jobs.enqueue(scope, {
						model: source.model,
						datasetId,
						spec: spec as unknown as Record<string, unknown>,
						priority: spec.priority,
						gpu: false,
						deadlineAt: null,
					});
					(ctx.meta as { $statusCode?: number }).$statusCode = 201;
					const self = this as unknown as Queue;
					void self.broadcastEvent(EVENTS.jobQueued, {
						jobId: job.id,
						tenant: scope.tenantId,
						model: source.model,
						priority: job.priority,
						gpu: job.gpu,
					});
					void self.dispatch();
					return job;
				},
			}),

			/** The optimizations made from `model@version` and their measured trade-offs, one table. */
			"jobs.optimizations": requires("models.read", {
				retryPolicy: { enabled: true },
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", min: 1, max: 128 },
				},
				async handler(ctx: Ctx<{ model: string; version: string }>) {
					const source = await ctx.call<
						SourceVersionView,
						{ model: string; version: string }
					>(`${SERVICE.registry}.versions.get`, ctx.params);
					const versions: VersionRow[] = [];
					let cursor: string | undefined;
					do {
						const page = await ctx.call<
							{ items: VersionRow[]; nextCursor: string | null },
							{ model: string; limit: number; cursor?: string }
						>(`${SERVICE.registry}.versions.list`, {
							model: source.model,
							limit: 500,
							...(cursor !== undefined ? { cursor } : {}),
						});
						versions.push(...page.items);
						cursor = page.nextCursor ?? undefined;
					} while (cursor !== undefined);
					return optimizationTable(source.model, source.version, versions);
				},
			}),

			/**
			 * A trainer's terminal report (completed, failed), sent until acknowledged: what a
			 * broadcast would lose while no control node leads reaches the leader once one does
			 * (lib/training/report-delivery.ts). Idempotent. Fleet-internal: trainers call it.
			 */
			"jobs.report": fleetInternal({
				visibility: "public",
				params: {
					event: { type: "enum", values: ["completed", "failed"] },
					report: { type: "object" },
				},
				async handler(
					ctx: Ctx<
						| { event: "completed"; report: TrainingCompletedEvent }
						| { event: "failed"; report: TrainingFailedEvent }
					>,
				) {
					// `fleetInternal(…)` takes the action out of the schema's `this` typing.
					const self = this as unknown as Queue &
						Reports &
						Partial<StudyPasses> & { isLeader(): boolean };
					if (!self.isLeader())
						throw new LeaseLostError(
							"leader",
							null,
							`control node ${self.broker.nodeID} does not lead; send the report again`,
						);
					if (ctx.params.event === "completed")
						await self.recordCompleted(ctx.params.report);
					else await self.recordFailed(ctx.params.report);
					void self.advanceStudies?.();
					return { recorded: true };
				},
			}),

			"jobs.get": requires("models.read", {
				retryPolicy: { enabled: true },
				params: { id: { type: "uuid" } },
				handler(ctx: Ctx<{ id: string }>) {
					return jobs.get(scopeOf(ctx), ctx.params.id);
				},
			}),

			"jobs.list": requires("models.read", {
				retryPolicy: { enabled: true },
				params: {
					state: { type: "enum", values: [...JOB_STATES], optional: true },
					...PAGE_PARAMS,
				},
				handler(ctx: Ctx<{ state?: JobState } & PageParams>) {
					return jobs.list(scopeOf(ctx), ctx.params);
				},
			}),

			"jobs.cancel": requires("train", {
				params: { id: { type: "uuid" } },
				async handler(ctx: Ctx<{ id: string }>) {
					const { job, stopOn } = await jobs.cancel(scopeOf(ctx), ctx.params.id);
					if (stopOn !== null) {
						await this.broker
							.call(
								`${SERVICE.trainer}.cancel`,
								{ jobId: job.id },
								{ nodeID: stopOn },
							)
							.catch((err: unknown) =>
								this.logger.warn(
									`Stopping job ${job.id} on ${stopOn} failed:`,
									err,
								),
							);
					}
					void (this as unknown as Queue).dispatch();
					return job;
				},
			}),
		},

		events: {
			async [EVENTS.trainingStarted](ctx: Context<TrainingStartedEvent>) {
				if (!this.isLeader()) return;
				const p = ctx.params;
				await asLeader(jobs.recordStarted(p.jobId, p.nodeID, `${p.backend} (${p.device})`));
			},
			async [EVENTS.trainingProgress](ctx: Context<TrainingProgressEvent>) {
				if (!this.isLeader()) return;
				const p = ctx.params;
				countEpoch(nodeMetricsOf(this.broker), p);
				await asLeader(
					jobs.recordProgress(p.jobId, {
						epoch: p.epoch,
						metrics: p.metrics,
						samplesPerSecond: p.samplesPerSecond,
						etaMs: p.etaMs,
						...(p.communication ? { communication: p.communication } : {}),
						nodeID: p.nodeID,
						at: new Date().toISOString(),
					}),
				);
			},
			async [EVENTS.trainingCheckpoint](ctx: Context<TrainingCheckpointEvent>) {
				if (!this.isLeader()) return;
				const p = ctx.params;
				await asLeader(
					jobs.recordCheckpoint(p.jobId, {
						sha256: p.sha256,
						epoch: p.epoch,
						size: p.size,
					}),
				);
			},
			async [EVENTS.trainingCompleted](ctx: Context<TrainingCompletedEvent>) {
				if (!this.isLeader()) return;
				await (this as unknown as Reports).recordCompleted(ctx.params);
			},
			async [EVENTS.trainingFailed](ctx: Context<TrainingFailedEvent>) {
				// Failures the scheduler itself found (lost nodes, deadlines) are already recorded;
				// a trainer's own report may come from this node too (all-in-one).
				const p = ctx.params;
				const own = ctx.nodeID === this.broker.nodeID && ownFailures.delete(failureKey(p));
				if (own || !this.isLeader()) return;
				await (this as unknown as Reports).recordFailed(p);
			},
		},

		methods: {
			/** A trainer's completion, recorded once (a repeat, or one of an ended attempt, changes nothing). */
			async recordCompleted(p: TrainingCompletedEvent): Promise<void> {
				const {
					jobId,
					model,
					version,
					state,
					metrics,
					bestEpoch,
					epochsRun,
					stoppedEarly,
				} = p;
				await asLeader(
					jobs.complete(
						jobId,
						{
							model,
							version,
							state,
							metrics,
							bestEpoch,
							epochsRun,
							stoppedEarly,
							...(p.dataParallel ? { dataParallel: p.dataParallel } : {}),
						},
						{
							attempt: p.attempt,
							...(p.lastEpoch && {
								lastEpoch: {
									epoch: p.lastEpoch.epoch,
									metrics: p.lastEpoch.metrics,
									samplesPerSecond: 0,
									etaMs: 0,
									nodeID: p.nodeID,
									at: new Date().toISOString(),
								},
							}),
							...(p.checkpoint && { checkpoint: p.checkpoint }),
						},
					),
				);
				void this.dispatch();
			},

			/** A trainer's failure, recorded once (fenced by its node and attempt). */
			async recordFailed(p: TrainingFailedEvent): Promise<void> {
				await asLeader(
					jobs.runFailed(p.jobId, p.nodeID, p.reason, p.final, {
						...(p.lostNodeID !== undefined ? { lostNodeID: p.lostNodeID } : {}),
						...(p.attempt !== undefined ? { attempt: p.attempt } : {}),
					}),
				);
				void this.dispatch();
			},

			/** Trainer nodes as dispatch sees them. */
			trainerNodes(): TrainerNode[] {
				return (this.fleet() as FleetNode[])
					.filter(node => node.services.includes(SERVICE.trainer))
					.map(node => {
						const meta = readNodeMetadata(
							this.broker.registry.nodes.get(node.nodeID)?.metadata,
						);
						return {
							nodeID: node.nodeID,
							available: node.available,
							gpus: node.capacity.gpus.length,
							slots: meta?.trainerSlots ?? 1,
						};
					});
			},

			async dispatch(): Promise<void> {
				if (!this.isLeader()) return;
				await dispatcher.trigger().catch((err: unknown) => {
					this.logger.warn("Dispatching training jobs failed:", err);
				});
			},
		},

		created() {
			nodeMetricsOf(this.broker).onScrape(async () =>
				setTrainingQueueGauges(nodeMetricsOf(this.broker), await jobs.active()),
			);
			/** The job's tenant, signed here: every tenant-scoped call carries a signed identity. */
			const asTenant = (tenantId: string) =>
				options.trust.actAs(tenantId, "owner", this.broker.nodeID);
			dispatcher = new TrainingDispatcher({
				store: jobs,
				dataset: async (tenantId, datasetId) => {
					const d = await this.broker.call<DatasetView, { ref: string }>(
						`${SERVICE.registry}.datasets.get`,
						{ ref: datasetId },
						{ meta: asTenant(tenantId) },
					);
					return {
						id: d.id,
						ref: d.ref,
						sha256: d.sha256,
						format: d.format,
						labelColumn: d.labelColumn,
					};
				},
				trainers: () => this.trainerNodes(),
				startRun: async (nodeID, tenantId, params: TrainerRunParams) => {
					await this.broker.call(`${SERVICE.trainer}.run`, params, {
						nodeID,
						meta: asTenant(tenantId),
						timeout: 30_000,
					});
				},
				stopRun: async (nodeID, jobId) => {
					await this.broker.call(`${SERVICE.trainer}.cancel`, { jobId }, { nodeID });
				},
				failed: event => {
					ownFailures.add(failureKey(event));
					void this.broadcastEvent(EVENTS.trainingFailed, event);
				},
				now: () => Date.now(),
				warn: message => this.logger.warn(message),
			});
		},
	};
}
