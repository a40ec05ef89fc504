/**
 * Hyperparameter studies and runs on the scheduler: `studies.*` (create, get, list, cancel),
 * `runs.*` (list, get, compare, tag) and the study loop. The loop runs on the leader only: on a
 * timer and on every trial event it re-reads each active study and its trial jobs from the
 * database, asks lib/studies/study-plan.ts what to do, and queues trial segments on the training
 * queue (the training-queue mixin dispatches them to trainers like any job). Nothing lives only
 * in memory, so a control node that restarts, or a new leader, carries on.
 */
import type { Service, ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import type { FleetTrust } from "../../lib/accounts/fleet-trust";
import { InvalidInputError } from "../../lib/errors";
import { EVENTS } from "../../lib/events";
import { SERVICE } from "../../lib/fleet/node-role";
import type { DatasetView } from "../../lib/registry/dataset-store";
import { CoalescedPass } from "../../lib/scheduler/coalesced-pass";
import type { JobStore, JobView } from "../../lib/scheduler/job-store";
import { checkJobAgainstDataset } from "../../lib/scheduler/job-submission";
import { runSortOf } from "../../lib/scheduler/run-order";
import { compareRuns, runOf } from "../../lib/studies/runs";
import { segmentOf, StudyLoop } from "../../lib/studies/study-loop";
import { REGISTER_RUNG, summarizeTrials } from "../../lib/studies/study-plan";
import { TAGS_RULE, validateStudySpec } from "../../lib/studies/study-spec";
import {
	STUDY_STATES,
	type StudyRecord,
	type StudyState,
	type StudyStore,
} from "../../lib/studies/study-store";
import { PAGE_PARAMS, type Ctx, type PageParams } from "../params";

export interface StudiesMixinOptions {
	studies: StudyStore;
	jobs: JobStore;
	trust: FleetTrust;
	/** How often the leader re-plans active studies, ms. Default 1000. */
	intervalMs?: number;
}

type StudiesService = Service & {
	isLeader(): boolean;
	dispatch(): Promise<void>;
	advanceStudies(): Promise<void>;
};

/** A study as the API shows it: the record, its trials and what they cost so far. */
export function studyView(study: StudyRecord, jobs: readonly JobView[]) {
	// The client's raw base is an input detail: the view shows the validated base.
	const spec: Partial<StudyRecord["spec"]> = { ...study.spec };
	delete spec.baseInput;
	const segments = jobs.map(segmentOf);
	const trials = summarizeTrials(study.spec, segments);
	const register = jobs.find(j => j.study?.rung === REGISTER_RUNG);
	return {
		id: study.id,
		name: study.name,
		model: study.model,
		state: study.state,
		spec,
		best: study.best,
		error: study.error,
		trialsStarted: trials.length,
		trialsFinished: trials.filter(t => !["queued", "running"].includes(t.state)).length,
		epochsRun: jobs
			.filter(j => j.study?.rung !== REGISTER_RUNG)
			.reduce((n, j) => n + j.progress.length, 0),
		registerJob: register?.id ?? null,
		trials,
		createdAt: study.createdAt,
		finishedAt: study.finishedAt,
	};
}

/** Needs the fleet-nodes mixin (`isLeader`) and the training-queue mixin (`dispatch`). */
export function studiesMixin(options: StudiesMixinOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the studies.* and runs.*
	// actions, the events that wake the loop and the loop's steps, each short.
	const { studies, jobs } = options;
	let passes: CoalescedPass | null = null;
	let timer: NodeJS.Timeout | null = null;

	return {
		actions: {
			/** Starts a study: validates it, checks its dataset and model, and lets the loop queue its trials. */
			"studies.create": requires("train", {
				params: { target: { type: "string", min: 1, max: 256 }, $$strict: false },
				async handler(ctx: Ctx<Record<string, unknown>>) {
					const scope = scopeOf(ctx);
					const spec = validateStudySpec(ctx.params);
					const dataset = await ctx.call<DatasetView, { ref: string }>(
						`${SERVICE.registry}.datasets.get`,
						{
							ref: spec.base.dataset,
						},
					);
					checkJobAgainstDataset(spec.base, dataset);
					await ctx.call(`${SERVICE.registry}.models.get`, { name: spec.target });
					const study = await studies.create(scope, {
						name: spec.name,
						model: spec.target,
						datasetId: dataset.id,
						spec,
					});
					(ctx.meta as { $statusCode?: number }).$statusCode = 201;
					void (this as unknown as StudiesService).advanceStudies();
					return studyView(study, []);
				},
			}),

			"studies.get": requires("models.read", {
				retryPolicy: { enabled: true },
				params: { id: { type: "uuid" } },
				async handler(ctx: Ctx<{ id: string }>) {
					const study = await studies.get(scopeOf(ctx), ctx.params.id);
					return studyView(study, await jobs.ofStudy(study.id));
				},
			}),

			"studies.list": requires("models.read", {
				retryPolicy: { enabled: true },
				params: {
					state: { type: "enum", values: [...STUDY_STATES], optional: true },
					...PAGE_PARAMS,
				},
				async handler(ctx: Ctx<{ state?: StudyState } & PageParams>) {
					const page = await studies.list(scopeOf(ctx), ctx.params);
					const items = [];
					for (const study of page.items)
						items.push(studyView(study, await jobs.ofStudy(study.id)));
					return { items, nextCursor: page.nextCursor };
				},
			}),

			"studies.cancel": requires("train", {
				params: { id: { type: "uuid" } },
				async handler(ctx: Ctx<{ id: string }>) {
					const study = await studies.cancel(scopeOf(ctx), ctx.params.id);
					const trialJobs = await jobs.ofStudy(study.id);
					for (const job of trialJobs.filter(
						j => j.state === "queued" || j.state === "running",
					)) {
						await ctx
							.call(`${SERVICE.scheduler}.jobs.cancel`, { id: job.id })
							.catch(() => undefined);
					}
					return studyView(study, await jobs.ofStudy(study.id));
				},
			}),

			"runs.list": requires("models.read", {
				retryPolicy: { enabled: true },
				params: {
					study: { type: "uuid", optional: true },
					model: { type: "string", min: 1, max: 256, optional: true },
					tag: { type: "string", min: 1, max: 64, optional: true },
					sort: { type: "string", min: 1, max: 80, optional: true },
					order: { type: "enum", values: ["asc", "desc"], optional: true },
					...PAGE_PARAMS,
				},
				async handler(
					ctx: Ctx<
						{
							study?: string;
							model?: string;
							tag?: string;
							sort?: string;
							order?: "asc" | "desc";
						} & PageParams
					>,
				) {
					const { study, model, tag, sort, order, limit, cursor } = ctx.params;
					const page = await jobs.runs(
						scopeOf(ctx),
						{ studyId: study, model, tag },
						runSortOf({ sort, order }),
						{ limit, cursor },
					);
					return { items: page.items.map(runOf), nextCursor: page.nextCursor };
				},
			}),

			"runs.get": requires("models.read", {
				retryPolicy: { enabled: true },
				params: { id: { type: "uuid" } },
				async handler(ctx: Ctx<{ id: string }>) {
					return runOf(await jobs.get(scopeOf(ctx), ctx.params.id));
				},
			}),

			/** Lines up the chosen runs' parameters and final metrics (`ids`: comma-separated, 2–20). */
			"runs.compare": requires("models.read", {
				retryPolicy: { enabled: true },
				params: { ids: { type: "string", min: 1, max: 20 * 37 } },
				async handler(ctx: Ctx<{ ids: string }>) {
					const ids = [
						...new Set(
							ctx.params.ids
								.split(",")
								.map(s => s.trim())
								.filter(Boolean),
						),
					];
					if (ids.length < 2 || ids.length > 20)
						throw new InvalidInputError("ids: give 2 to 20 run ids, comma-separated", {
							field: "ids",
						});
					for (const id of ids)
						if (
							!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(
								id,
							)
						)
							throw new InvalidInputError(
								`ids: ${JSON.stringify(id)} is not a run id`,
								{ field: "ids" },
							);
					const scope = scopeOf(ctx);
					const runs = [];
					for (const id of ids) runs.push(runOf(await jobs.get(scope, id)));
					return compareRuns(runs);
				},
			}),

			/** Replaces a run's tags. */
			"runs.tag": requires("train", {
				params: { id: { type: "uuid" }, tags: TAGS_RULE },
				async handler(ctx: Ctx<{ id: string; tags: string[] }>) {
					return runOf(
						await jobs.setTags(scopeOf(ctx), ctx.params.id, [
							...new Set(ctx.params.tags),
						]),
					);
				},
			}),
		},

		events: {
			[EVENTS.trainingCompleted]() {
				void (this as unknown as StudiesService).advanceStudies();
			},
			[EVENTS.trainingCheckpoint]() {
				void (this as unknown as StudiesService).advanceStudies();
			},
			[EVENTS.trainingFailed]() {
				void (this as unknown as StudiesService).advanceStudies();
			},
		},

		methods: {
			async advanceStudies(): Promise<void> {
				if (!this.isLeader() || passes === null) return;
				await passes
					.trigger()
					.catch((err: unknown) => this.logger.warn("Advancing studies failed:", err));
			},
		},

		created() {
			const self = this as unknown as StudiesService;
			const loop = new StudyLoop({
				studies,
				jobs,
				stopRun: async (nodeID, jobId) => {
					await this.broker.call(`${SERVICE.trainer}.cancel`, { jobId }, { nodeID });
				},
				setAlias: async (study, alias, version) => {
					// The study's tenant, signed here: a study runs for hours after its caller left.
					await this.broker.call(
						`${SERVICE.registry}.aliases.set`,
						{ model: study.model, alias, version },
						{ meta: options.trust.actAs(study.tenantId, "owner", this.broker.nodeID) },
					);
				},
				dispatch: () => void self.dispatch(),
				now: () => Date.now(),
			});
			passes = new CoalescedPass(() => loop.pass());
		},

		started() {
			timer = setInterval(
				() => void (this as unknown as StudiesService).advanceStudies(),
				options.intervalMs ?? 1000,
			);
			timer.unref();
		},

		stopped() {
			if (timer) clearInterval(timer);
		},
	};
}
