/**
 * The scheduler's monitoring (docs/monitoring.md): it takes in the predictions serving nodes
 * captured, the ground truth clients send back, and on the acting scheduler runs the monitor's
 * passes — drift windows, live-accuracy windows, health — emitting their events and the health
 * gauge. Reads: drift windows, health, and captured payloads a page at a time (the gateway
 * streams them as NDJSON).
 */
import { nodeMetricsOf } from "../../lib/metrics/node-metrics";
import type { Context, ServiceSchema } from "moleculer";
import { fleetInternal, requires, scopeOf, type RequestMeta } from "../../lib/accounts/access";
import type { FleetTrust } from "../../lib/accounts/fleet-trust";
import type { Database } from "../../lib/db/database";
import type { DatasetReport } from "../../lib/datasets/dataset-report";
import { EVENTS } from "../../lib/events";
import { SERVICE } from "../../lib/fleet/node-role";
import type { CaptureBatch, CapturedPrediction } from "../../lib/monitoring/capture";
import { CaptureStore } from "../../lib/monitoring/capture-store";
import { FeedbackStore } from "../../lib/monitoring/feedback-store";
import { Monitor, type FeedbackItem, type VersionFacts } from "../../lib/monitoring/monitor";
import { WindowStore } from "../../lib/monitoring/window-store";
import type { DatasetView } from "../../lib/registry/dataset-store";
import type { VersionView } from "../../lib/registry/version-store";
import type { DeploymentStore } from "../../lib/scheduler/deployment-store";
import { MODEL_PARAM, type Ctx } from "../params";

export interface MonitoringMixinOptions {
	database: Database;
	deployments: DeploymentStore;
	trust: FleetTrust;
	/** How often the acting scheduler closes windows and scores health, ms. */
	intervalMs: number;
	/** Captures, feedback and windows older than this many days are dropped. */
	retentionDays: number;
}

export interface MonitoringMethods {
	healthOf(tenantId: string, model: string): Promise<Record<string, unknown> | null>;
	monitorPass(): Promise<void>;
}

const CAPTURE_RULE = {
	type: "object",
	props: {
		predictionId: { type: "string", max: 256 },
		tenant: { type: "string", max: 64 },
		model: { type: "string", max: 256 },
		version: { type: "string", max: 128 },
		at: { type: "number" },
		latencyMs: { type: "number" },
		rows: { type: "number", integer: true, min: 0 },
		// Tensors ({name, datatype, shape, data}); their data stays typed (not checked here).
		inputs: { type: "array", nullable: true },
		outputs: { type: "array", nullable: true },
		error: { type: "string", nullable: true },
	},
} as const;

/** A batch of captures as a serving node wrote it (lib/monitoring/capture-batch.ts; checked when stored). */
const BATCH_RULE = {
	type: "object",
	props: {
		tenant: { type: "string", max: 64 },
		model: { type: "string", max: 256 },
		payload: { type: "class", instanceOf: Uint8Array },
	},
} as const;

/** Needs the fleet-nodes mixin (`isLeader`) and the domain-events mixin. */
export function monitoringMixin(options: MonitoringMixinOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the monitoring.*
	// actions, each a few lines, and the monitor's ports onto the registry and the event bus.
	const db = options.database.db;
	const captures = new CaptureStore(options.database);
	let monitor: Monitor;
	let timer: NodeJS.Timeout | null = null;
	let lastRetention = 0;
	/** Set at stop: a pass still running then ends without logging into a closed broker. */
	let stopping = false;

	return {
		actions: {
			/**
			 * Captured predictions from a serving node, as batches of bytes (`batches`), or as
			 * records (`captures`: what nodes of the release before 0014 send). Fleet-internal.
			 */
			"monitoring.ingest": fleetInternal({
				params: {
					batches: { type: "array", max: 10_000, optional: true, items: BATCH_RULE },
					captures: { type: "array", max: 10_000, optional: true, items: CAPTURE_RULE },
				},
				async handler(
					ctx: Context<{ batches?: CaptureBatch[]; captures?: CapturedPrediction[] }>,
				) {
					const { batches = [], captures = [] } = ctx.params;
					await monitor.ingestBatches(batches);
					await monitor.ingest(captures);
					return { batches: batches.length, captures: captures.length };
				},
			}),

			/** Ground truth for predictions the model's deployment captured. */
			"monitoring.feedback": requires("predict", {
				params: {
					...MODEL_PARAM,
					items: {
						type: "array",
						min: 1,
						max: 10_000,
						items: {
							type: "object",
							strict: "remove",
							props: {
								id: { type: "string", min: 1, max: 256 },
								row: { type: "number", integer: true, min: 0, optional: true },
								label: {
									type: "multi",
									rules: [{ type: "string", max: 256 }, { type: "number" }],
								},
							},
						},
					},
				},
				async handler(ctx: Ctx<{ model: string; items: FeedbackItem[] }>) {
					const scope = scopeOf(ctx);
					await options.deployments.get(scope, ctx.params.model);
					return monitor.feedback(scope.tenantId, ctx.params.model, ctx.params.items);
				},
			}),

			/** The deployment's drift windows, newest first, with their per-feature scores. */
			"monitoring.drift": requires("models.read", {
				params: {
					...MODEL_PARAM,
					limit: {
						type: "number",
						integer: true,
						min: 1,
						max: 500,
						optional: true,
						convert: true,
					},
				},
				async handler(ctx: Ctx<{ model: string; limit?: number }>) {
					const scope = scopeOf(ctx);
					const deployment = await options.deployments.get(scope, ctx.params.model);
					const limit = ctx.params.limit ?? 20;
					return {
						model: deployment.model,
						captureRate: deployment.monitoring.captureRate,
						thresholds: deployment.monitoring.thresholds,
						window: {
							rows: deployment.monitoring.windowRows,
							minutes: deployment.monitoring.windowMinutes,
						},
						windows: await monitor.windows(
							scope.tenantId,
							deployment.model,
							"drift",
							limit,
						),
						performance: await monitor.windows(
							scope.tenantId,
							deployment.model,
							"performance",
							limit,
						),
					};
				},
			}),

			/** The deployment's latest health score with its parts; null before the first pass. */
			"monitoring.health": requires("models.read", {
				params: MODEL_PARAM,
				async handler(ctx: Ctx<{ model: string }>) {
					const scope = scopeOf(ctx);
					const deployment = await options.deployments.get(scope, ctx.params.model);
					return (this as unknown as MonitoringMethods).healthOf(
						scope.tenantId,
						deployment.model,
					);
				},
			}),

			/**
			 * Captured predictions, oldest first, a page of stored batches at a time (`after`: the
			 * last page's `nextAfter`); the gateway streams every page as NDJSON.
			 */
			"monitoring.captures": requires("models.write", {
				params: {
					...MODEL_PARAM,
					after: { type: "number", integer: true, min: 0, optional: true, convert: true },
					limit: {
						type: "number",
						integer: true,
						min: 1,
						max: 100,
						optional: true,
						convert: true,
					},
					from: { type: "date", optional: true, convert: true },
					to: { type: "date", optional: true, convert: true },
				},
				async handler(
					ctx: Ctx<{
						model: string;
						after?: number;
						limit?: number;
						from?: Date;
						to?: Date;
					}>,
				) {
					const scope = scopeOf(ctx);
					const deployment = await options.deployments.get(scope, ctx.params.model);
					const limit = ctx.params.limit ?? 20;
					const batches = await captures.after(
						scope.tenantId,
						deployment.model,
						ctx.params.after ?? 0,
						limit,
						{
							...(ctx.params.from ? { from: ctx.params.from } : {}),
							...(ctx.params.to ? { to: ctx.params.to } : {}),
						},
					);
					const items = await Promise.all(
						batches
							.flatMap(b => b.captures)
							.map(c => monitor.readable(scope.tenantId, c)),
					);
					return {
						items,
						nextAfter:
							batches.length === limit ? batches[batches.length - 1].seq : null,
					};
				},
			}),
		},

		methods: {
			/** The latest health window's score, or null. */
			async healthOf(
				tenantId: string,
				model: string,
			): Promise<Record<string, unknown> | null> {
				const [latest] = await monitor.windows(tenantId, model, "health", 1);
				return latest ? { ...(latest.report as object), at: latest.endedAt } : null;
			},

			async monitorPass(): Promise<void> {
				if (stopping || !this.isLeader()) return;
				await monitor.pass();
				if (Date.now() - lastRetention > 3_600_000) {
					lastRetention = Date.now();
					await monitor.retain(options.retentionDays);
				}
			},
		},

		created() {
			const metrics = nodeMetricsOf(this.broker);
			/** The scheduler calls the registry for the deployment's tenant (its identity, signed here). */
			const asOwner = (tenant: string): RequestMeta =>
				options.trust.actAs(tenant, "owner", this.broker.nodeID);
			const call = <T>(tenant: string, action: string, params: object) =>
				this.broker.call<T, object>(action, params, { meta: asOwner(tenant) });
			monitor = new Monitor(
				{ captures, feedback: new FeedbackStore(db), windows: new WindowStore(db) },
				{
					deployments: async () =>
						(await options.deployments.all()).map(d => ({
							tenantId: d.tenantId,
							model: d.model,
							monitoring: d.monitoring,
						})),
					task: async (tenant, model) =>
						(
							await call<{ task: string }>(tenant, `${SERVICE.registry}.models.get`, {
								name: model,
							})
						).task,
					version: async (tenant, model, version): Promise<VersionFacts> => {
						const v = await call<VersionView>(
							tenant,
							`${SERVICE.registry}.versions.get`,
							{ model, version },
						);
						return {
							labels: v.labels,
							metrics: v.metrics,
							features: v.schema.inputs.flatMap(
								i => i.features?.map(f => f.name) ?? [],
							),
							inputs: v.schema.inputs,
							trainingDataset: v.lineage.datasetSha256 ?? null,
						};
					},
					dataset: async (tenant, ref) => {
						const view = await call<DatasetView>(
							tenant,
							`${SERVICE.registry}.datasets.get`,
							{ ref },
						);
						return { ref: view.ref, report: view.report as DatasetReport };
					},
					driftDetected: event => void this.broadcastEvent(EVENTS.driftDetected, event),
					performanceDegraded: event =>
						void this.broadcastEvent(EVENTS.performanceDegraded, event),
					healthChecked: event => {
						metrics.deploymentHealthScore.set(
							{ tenant: event.tenant, model: event.model },
							event.score,
						);
						void this.broadcastEvent(EVENTS.healthCheck, event);
					},
					now: () => Date.now(),
					warn: message => {
						if (!stopping) this.logger.warn(message);
					},
				},
			);
		},

		started() {
			timer = setInterval(() => {
				void this.monitorPass().catch((err: unknown) => {
					if (!stopping) this.logger.warn("Monitoring pass failed:", err);
				});
			}, options.intervalMs);
			timer.unref();
		},

		stopped() {
			stopping = true;
			if (timer) clearInterval(timer);
			captures.close();
		},
	};
}
