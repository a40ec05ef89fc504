/**
 * Which queued training jobs start where: pure, so the rules are tested without a fleet.
 * Jobs come in dispatch order (priority, then submission); each takes a free trainer slot
 * that fits — a GPU job only a trainer with a GPU, a CPU job preferably a trainer without one
 * (GPU nodes stay free for GPU work). A job that fits nowhere waits with the reason, and does
 * not hold back the jobs behind it that do fit.
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
	start: Array<{ jobId: string; nodeID: string }>;
	waiting: Array<{ jobId: string; reason: string }>;
}

export function planDispatch(
	jobs: readonly QueuedJob[],
	trainers: readonly TrainerNode[],
): DispatchPlan {
	const busy = new Map<string, number>();
	for (const job of jobs) {
		if (job.state === "running" && job.nodeID !== null) {
			busy.set(job.nodeID, (busy.get(job.nodeID) ?? 0) + 1);
		}
	}
	const live = trainers.filter(t => t.available);
	const plan: DispatchPlan = { start: [], waiting: [] };
	for (const job of jobs) {
		if (job.state !== "queued") continue;
		const fitting = live.filter(t => !job.gpu || t.gpus > 0);
		const free = fitting.filter(t => (busy.get(t.nodeID) ?? 0) < t.slots);
		if (free.length === 0) {
			plan.waiting.push({ jobId: job.id, reason: waitingReason(job, live, fitting) });
			continue;
		}
		free.sort(
			(a, b) =>
				(job.gpu ? 0 : Number(a.gpus > 0) - Number(b.gpus > 0)) ||
				(busy.get(a.nodeID) ?? 0) / a.slots - (busy.get(b.nodeID) ?? 0) / b.slots ||
				a.nodeID.localeCompare(b.nodeID),
		);
		const chosen = free[0];
		busy.set(chosen.nodeID, (busy.get(chosen.nodeID) ?? 0) + 1);
		plan.start.push({ jobId: job.id, nodeID: chosen.nodeID });
	}
	return plan;
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
