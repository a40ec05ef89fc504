/**
 * One pass of the study loop over every active study: read the study and its trial jobs, plan
 * (study-plan.ts), and act — queue segments, stop them when the wall time is spent, record the
 * best trial, queue the registering job, and finish the study (setting its alias when asked).
 * Everything is re-read from the database each pass; the scheduler's studies mixin runs passes
 * on the leader only, one at a time. What it reaches outside comes in as ports.
 */
import type { Scope } from "../accounts/access";
import { LeaseLostError } from "../errors";
import type { JobStore, JobView } from "../scheduler/job-store";
import {
	planStudy,
	registerLaunch,
	REGISTER_RUNG,
	type SegmentLaunch,
	type TrialSegment,
} from "./study-plan";
import type { StudyRecord, StudyStore } from "./study-store";

export interface StudyLoopPorts {
	studies: Pick<StudyStore, "active" | "advance">;
	jobs: Pick<JobStore, "ofStudy" | "enqueue" | "cancel">;
	/** Stops a running job on its trainer. */
	stopRun(nodeID: string, jobId: string): Promise<void>;
	/** Points the study's alias at the registered version (the registry, as the tenant). */
	setAlias(study: StudyRecord, alias: string, version: string): Promise<void>;
	/** Lets the training queue start what was queued. */
	dispatch(): void;
	now(): number;
}

export function segmentOf(job: JobView): TrialSegment {
	return {
		jobId: job.id,
		trial: job.study?.trial ?? 0,
		rung: job.study?.rung ?? 0,
		state: job.state,
		spec: job.spec,
		lastMetrics: job.progress[job.progress.length - 1]?.metrics ?? null,
		checkpoint: job.checkpoint,
		result: job.result,
		error: job.error,
	};
}

/** A leader's write; nothing when the lease passed on meanwhile (the new leader carries on). */
async function asLeader<T>(write: Promise<T>): Promise<T | undefined> {
	try {
		return await write;
	} catch (err) {
		if (err instanceof LeaseLostError) return undefined;
		throw err;
	}
}

/** A unique-index violation: another pass queued the same segment first. */
function isDuplicate(err: unknown): boolean {
	const e = err as { code?: string; message?: string; cause?: unknown };
	return /23505|duplicate key|unique/i.test(
		`${e.code ?? ""} ${e.message ?? ""} ${String(e.cause ?? "")}`,
	);
}

function scopeFor(study: StudyRecord): Scope {
	return { tenantId: study.tenantId, role: "owner", keyId: null };
}

export class StudyLoop {
	constructor(private readonly ports: StudyLoopPorts) {}

	async pass(): Promise<void> {
		for (const study of await this.ports.studies.active()) {
			const trialJobs = await this.ports.jobs.ofStudy(study.id);
			if (study.state === "running") await this.searching(study, trialJobs.map(segmentOf));
			else
				await this.registering(
					study,
					trialJobs.find(j => j.study?.rung === REGISTER_RUNG),
				);
		}
	}

	private async enqueue(study: StudyRecord, launch: SegmentLaunch): Promise<void> {
		try {
			await this.ports.jobs.enqueue(scopeFor(study), {
				model: study.model,
				datasetId: study.datasetId,
				spec: launch.spec as unknown as Record<string, unknown>,
				priority: launch.spec.priority,
				gpu: launch.spec.resources.gpu,
				deadlineAt: null,
				study: { id: study.id, trial: launch.trial, rung: launch.rung },
				checkpoint: launch.checkpoint,
				tags: study.spec.tags,
			});
		} catch (err) {
			if (!isDuplicate(err)) throw err;
		}
	}

	private async stop(study: StudyRecord, jobId: string): Promise<void> {
		const { stopOn } = await this.ports.jobs
			.cancel(scopeFor(study), jobId)
			.catch(() => ({ stopOn: null }));
		if (stopOn !== null) await this.ports.stopRun(stopOn, jobId).catch(() => undefined);
	}

	private async searching(study: StudyRecord, segments: TrialSegment[]): Promise<void> {
		const { studies } = this.ports;
		const plan = planStudy(
			study.spec,
			segments,
			this.ports.now() - Date.parse(study.createdAt),
		);
		for (const jobId of plan.stop) await this.stop(study, jobId);
		for (const launch of plan.launch) await this.enqueue(study, launch);
		if (plan.launch.length > 0) this.ports.dispatch();
		if (!plan.searchDone) {
			if (plan.best && plan.best.jobId !== study.best?.jobId)
				await asLeader(studies.advance(study.id, "running", { best: plan.best }));
			return;
		}
		if (!plan.best || !plan.best.checkpoint) {
			const error = `no trial finished with a value of ${study.spec.objective.metric} and a checkpoint`;
			await asLeader(
				studies.advance(study.id, "running", { state: "failed", best: plan.best, error }),
			);
			return;
		}
		await this.enqueue(study, registerLaunch(study.spec, plan.best));
		await asLeader(
			studies.advance(study.id, "running", { state: "registering", best: plan.best }),
		);
		this.ports.dispatch();
	}

	private async registering(study: StudyRecord, job: JobView | undefined): Promise<void> {
		if (!job) {
			if (study.best) await this.enqueue(study, registerLaunch(study.spec, study.best));
			this.ports.dispatch();
			return;
		}
		if (job.state === "queued" || job.state === "running") return;
		if (job.state !== "completed") {
			const error = `registering the best trial failed: ${job.error ?? job.state}`;
			await asLeader(
				this.ports.studies.advance(study.id, "registering", { state: "failed", error }),
			);
			return;
		}
		const version = (job.result?.version as string | undefined) ?? null;
		let error: string | null = null;
		const alias = study.spec.promote?.alias;
		if (alias && version !== null) {
			await this.ports.setAlias(study, alias, version).catch((err: unknown) => {
				error = `registered ${version}, but setting alias ${alias} failed: ${(err as Error).message}`;
			});
		}
		const best = { ...study.best!, version };
		await asLeader(
			this.ports.studies.advance(study.id, "registering", {
				state: "completed",
				best,
				error,
			}),
		);
	}
}
