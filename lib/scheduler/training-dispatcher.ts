/**
 * Runs the training queue: each pass returns the jobs of lost trainers to the queue (they
 * resume from their last checkpoint elsewhere; Failed after MAX_JOB_ATTEMPTS nodes), fails jobs
 * past their deadline, asks the trainers of running jobs it did not start itself to run them
 * (see `adopt`), starts the queued jobs that fit on free trainer slots, and records why the
 * others wait.
 */
import { CoalescedPass } from "./coalesced-pass";
import { planDispatch, type TrainerNode } from "./job-dispatch";
import type { JobCheckpoint, JobState, JobStore, JobView, QueuedJob } from "./job-store";

/** A job that failed on a trainer (or for good): the `training.failed` event's payload. */
export interface JobFailure {
	jobId: string;
	tenant: string;
	model: string;
	nodeID: string | null;
	reason: string;
	/** True when the job is over (Failed); false when it goes back to the queue. */
	final: boolean;
	/**
	 * Data-parallel jobs: the gang node that was lost (it stopped answering, or left); the next
	 * attempt runs on one worker fewer, without it.
	 */
	lostNodeID?: string;
	/** The attempt that failed, when a trainer reports it: a late report of an earlier one is ignored. */
	attempt?: number;
}

/** What a trainer's `run` action receives: everything it needs to run (or resume) a job. */
export interface TrainerRunParams {
	jobId: string;
	model: string;
	/** The validated job spec (lib/training/job-spec.ts JobSpec), as stored. */
	spec: Record<string, unknown>;
	dataset: {
		id: string;
		ref: string;
		sha256: string;
		format: string;
		labelColumn: string | null;
	};
	/** Where to resume from; null: from the start. */
	checkpoint: JobCheckpoint | null;
	/** 1 for the first run, 2 after a lost node, … */
	attempt: number;
	/** Data-parallel jobs: this trainer's rank and the attempt's nodes in rank order. */
	gang?: { rank: number; nodes: string[] } | null;
}

export interface DispatcherDeps {
	store: Pick<JobStore, "active" | "byId" | "claim" | "setWaiting" | "runFailed" | "expire">;
	dataset(tenantId: string, datasetId: string): Promise<TrainerRunParams["dataset"]>;
	trainers(): TrainerNode[];
	/** Asks the trainer on `nodeID` to run the job (it answers once accepted). */
	startRun(nodeID: string, tenantId: string, params: TrainerRunParams): Promise<void>;
	/** Asks a trainer to stop a job (cancelled, or past its deadline). */
	stopRun(nodeID: string, jobId: string): Promise<void>;
	failed(event: JobFailure): void;
	now(): number;
	warn(message: string): void;
}

export class TrainingDispatcher {
	private readonly passes = new CoalescedPass(() => this.pass());
	/** Runs (`jobId:attempt`) this dispatcher started, or confirmed with their trainers. */
	private readonly known = new Set<string>();

	constructor(private readonly deps: DispatcherDeps) {}

	/** Runs a pass now, or right after the one in progress. */
	trigger(): Promise<void> {
		return this.passes.trigger();
	}

	private async pass(): Promise<void> {
		const now = this.deps.now();
		const trainers = this.deps.trainers();
		const alive = new Set(trainers.filter(t => t.available).map(t => t.nodeID));
		let jobs = await this.deps.store.active();
		// Forget the runs that are over (the job ended, or moved on to another attempt).
		const current = new Set(jobs.map(j => `${j.id}:${j.attempts}`));
		for (const run of this.known) if (!current.has(run)) this.known.delete(run);

		for (const job of jobs) {
			if (job.deadlineAt !== null && job.deadlineAt <= now) {
				const reason = `deadline passed after ${job.attempts} run${job.attempts === 1 ? "" : "s"}`;
				if (await this.deps.store.expire(job.id, reason)) {
					if (job.state === "running" && job.nodeID !== null && alive.has(job.nodeID)) {
						// Stopped before this pass gives its slot to another job.
						await this.deps.stopRun(job.nodeID, job.id).catch(() => undefined);
					}
					this.report(job, job.nodeID, reason, "failed");
				}
				continue;
			}
			if (job.state === "running" && job.nodeID !== null) {
				if (await this.checkNodes(job, alive)) await this.adopt(job);
			}
		}

		jobs = await this.deps.store.active();
		const plan = planDispatch(jobs, trainers, now);
		for (const waiting of plan.waiting) {
			await this.deps.store.setWaiting(waiting.jobId, waiting.reason);
		}
		for (const start of plan.start) {
			if (!(await this.deps.store.claim(start.jobId, start.nodeID, start.gang))) continue;
			const job = await this.deps.store.byId(start.jobId);
			if (!job) continue;
			await this.start(job, start.gang ?? [start.nodeID]);
		}
	}

	/**
	 * A running job whose node (or any of its data-parallel gang's) left goes back to the queue
	 * (a gang: on one trainer fewer); the gang's other nodes are told to stop.
	 */
	private async checkNodes(job: QueuedJob, alive: ReadonlySet<string>): Promise<boolean> {
		const nodes = job.gang && job.gang.length > 1 ? job.gang : [job.nodeID as string];
		const lost = nodes.find(n => !alive.has(n));
		if (lost === undefined) return true;
		const reason = `trainer node ${lost} was lost`;
		const gang = nodes.length > 1;
		const state = await this.deps.store.runFailed(
			job.id,
			lost,
			reason,
			false,
			gang ? { lostNodeID: lost } : {},
		);
		if (gang && state !== null) await this.stopGang(job.id, nodes, lost);
		this.report(job, lost, reason, state, gang ? lost : undefined);
		return false;
	}

	/**
	 * A running job this dispatcher did not start (another leader did, e.g. a control node that
	 * was killed, or this node before its restart): its trainers are asked to run it, once. A
	 * leader killed between recording a job as running and asking its trainer left a job no
	 * trainer runs, which nothing else would ever start; a trainer that runs the attempt, or has
	 * finished it (its report on the way), answers without running it again (trainer.run).
	 */
	private async adopt(job: QueuedJob): Promise<void> {
		const run = `${job.id}:${job.attempts}`;
		if (this.known.has(run)) return;
		const view = await this.deps.store.byId(job.id);
		if (!view || view.state !== "running" || view.attempts !== job.attempts) return;
		const nodes = job.gang && job.gang.length > 1 ? job.gang : [job.nodeID as string];
		await this.start(view, nodes);
	}

	/** Starts a claimed job on its node, or on every node of its gang (rank 0 first). */
	private async start(job: JobView & { tenantId: string }, nodes: string[]): Promise<void> {
		// Known before the first call: a pass meanwhile (the next one) must not adopt it.
		this.known.add(`${job.id}:${job.attempts}`);
		const params = await runParams(this.deps, job);
		const started: string[] = [];
		for (const [rank, nodeID] of nodes.entries()) {
			try {
				await this.deps.startRun(
					nodeID,
					job.tenantId,
					nodes.length > 1 ? { ...params, gang: { rank, nodes } } : params,
				);
				started.push(nodeID);
			} catch (err) {
				this.known.delete(`${job.id}:${job.attempts}`);
				const reason = `could not start on ${nodeID}: ${(err as Error).message}`;
				this.deps.warn(`Training job ${job.id} ${reason}`);
				const state = await this.deps.store.runFailed(job.id, nodes[0], reason);
				if (nodes.length > 1) await this.stopGang(job.id, started, nodeID);
				this.report(job, nodeID, reason, state);
				return;
			}
		}
	}

	/** Stops a data-parallel job's run on its gang's nodes, but the lost one. */
	private async stopGang(jobId: string, nodes: readonly string[], lost: string): Promise<void> {
		for (const node of nodes)
			if (node !== lost) await this.deps.stopRun(node, jobId).catch(() => undefined);
	}

	/** Tells the fleet a run ended without a result; `state` is where the job is now (null: nowhere new). */
	private report(
		job: { id: string; tenantId: string; model: string },
		nodeID: string | null,
		reason: string,
		state: JobState | null,
		lostNodeID?: string,
	): void {
		if (state === null) return;
		this.deps.failed({
			jobId: job.id,
			tenant: job.tenantId,
			model: job.model,
			nodeID,
			reason,
			final: state === "failed",
			...(lostNodeID !== undefined ? { lostNodeID } : {}),
		});
	}
}

async function runParams(
	deps: DispatcherDeps,
	job: JobView & { tenantId: string },
): Promise<TrainerRunParams> {
	return {
		jobId: job.id,
		model: job.model,
		spec: job.spec,
		dataset: await deps.dataset(job.tenantId, job.datasetId),
		checkpoint: job.checkpoint,
		attempt: job.attempts,
	};
}
