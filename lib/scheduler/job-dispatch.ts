/**
 * Which queued training jobs start where: pure, so the rules are tested without a fleet.
 * Jobs come in dispatch order (priority, then submission); each takes a free trainer slot
 * that fits — a GPU job only a trainer with a GPU, a CPU job preferably a trainer without one
 * (GPU nodes stay free for GPU work). A job that fits nowhere waits with the reason, and does
 * not hold back the jobs behind it that do fit. A data-parallel job (`workers` > 1) is a gang:
 * it starts only when that many distinct trainers have a free slot, all at once (rank 0 is the
 * first chosen), and otherwise waits.
 */
import type { QueuedJob } from "./job-store";

export interface TrainerNode {
	nodeID: string;
	available: boolean;
	gpus: number;
	/** Jobs it may run at once (MODELFLEET_TRAINER_SLOTS). */
	slots: number;
}

export interface DispatchPlan {
	/** `gang`: a data-parallel job's nodes in rank order (`nodeID` is rank 0's). */
	start: Array<{ jobId: string; nodeID: string; gang?: string[] }>;
	waiting: Array<{ jobId: string; reason: string }>;
}

/**
 * How long a node a job's failure named lost is not given that job again: the failure can be
 * reported (by another rank) before the fleet sees the node leave (its heartbeat timeout).
 */
export const LOST_NODE_QUARANTINE_MS = 60_000;

/** `now` (ms since the epoch) dates the quarantine of lost nodes; without it there is none. */
export function planDispatch(
	jobs: readonly QueuedJob[],
	trainers: readonly TrainerNode[],
	now?: number,
): DispatchPlan {
	const busy = new Map<string, number>();
	for (const job of jobs) {
		if (job.state !== "running" || job.nodeID === null) continue;
		const nodes = job.gang && job.gang.length > 0 ? job.gang : [job.nodeID];
		for (const node of nodes) busy.set(node, (busy.get(node) ?? 0) + 1);
	}
	const live = trainers.filter(t => t.available);
	const plan: DispatchPlan = { start: [], waiting: [] };
	for (const job of jobs) {
		if (job.state !== "queued") continue;
		const avoid = new Set(
			(job.lostNodes ?? [])
				.filter(l => now !== undefined && now - l.at < LOST_NODE_QUARANTINE_MS)
				.map(l => l.nodeID),
		);
		const fitting = live.filter(t => (!job.gpu || t.gpus > 0) && !avoid.has(t.nodeID));
		const free = fitting.filter(t => (busy.get(t.nodeID) ?? 0) < t.slots);
		const workers = job.workers ?? 1;
		if (free.length === 0 && (workers === 1 || live.length === 0)) {
			plan.waiting.push({ jobId: job.id, reason: waitingReason(job, live, fitting) });
			continue;
		}
		free.sort(
			(a, b) =>
				(job.gpu ? 0 : Number(a.gpus > 0) - Number(b.gpus > 0)) ||
				(busy.get(a.nodeID) ?? 0) / a.slots - (busy.get(b.nodeID) ?? 0) / b.slots ||
				a.nodeID.localeCompare(b.nodeID),
		);
		if (workers > 1) {
			if (free.length < workers) {
				plan.waiting.push({ jobId: job.id, reason: gangReason(workers, fitting, free) });
				continue;
			}
			const gang = free.slice(0, workers).map(t => t.nodeID);
			for (const node of gang) busy.set(node, (busy.get(node) ?? 0) + 1);
			plan.start.push({ jobId: job.id, nodeID: gang[0], gang });
			continue;
		}
		const chosen = free[0];
		busy.set(chosen.nodeID, (busy.get(chosen.nodeID) ?? 0) + 1);
		plan.start.push({ jobId: job.id, nodeID: chosen.nodeID });
	}
	return plan;
}

/** Why a data-parallel job waits: too few trainers in the fleet, or too few free now. */
function gangReason(
	workers: number,
	fitting: readonly TrainerNode[],
	free: readonly TrainerNode[],
): string {
	const needs = `data-parallel training needs ${workers} trainers at once`;
	return fitting.length < workers
		? `${needs}; ${fitting.length} that fit ${fitting.length === 1 ? "is" : "are"} connected: start more workers`
		: `${needs}; ${free.length} of the ${fitting.length} that fit ${free.length === 1 ? "is" : "are"} free`;
}

function waitingReason(
	job: QueuedJob,
	live: readonly TrainerNode[],
	fitting: readonly TrainerNode[],
): string {
	if (live.length === 0) return "no trainer node in the fleet: start a worker";
	if (job.gpu && fitting.length === 0) {
		return "no trainer with a GPU: start a worker on a GPU host (or declare MODELFLEET_GPUS)";
	}
	const slots = fitting.reduce((n, t) => n + t.slots, 0);
	return job.gpu
		? `every GPU trainer is busy (${slots} slot${slots === 1 ? "" : "s"} in use)`
		: `every trainer is busy (${slots} slot${slots === 1 ? "" : "s"} in use)`;
}
