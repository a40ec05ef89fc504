/**
 * When to run a batch and with which requests: a pure function from the
 * waiting requests, the time and the free run slots to a decision. The BatchQueue gathers
 * the context and carries the decision out; the cases are tested as tables.
 */
import type { BatchingOptions } from "./batching-options";

/** What the decision needs to know of one waiting request. */
export interface WaitingRequest {
	/** Rows it brings (the first dimension of its inputs). */
	rows: number;
	/** When it joined the queue, in ms on the queue's clock. */
	enqueuedAt: number;
	/** When it stops being worth running, in ms on the queue's clock; undefined for never. */
	deadline: number | undefined;
	/** Requests with the same group can share a batch (same inputs, inner dimensions, outputs). */
	group: string;
}

export interface BatchContext {
	/** The waiting requests, oldest first. */
	waiting: readonly WaitingRequest[];
	now: number;
	/** Batches that may start now (maxConcurrentBatches less those running). */
	freeSlots: number;
	/** The queue is closing: run what is waiting without waiting for more. */
	draining?: boolean;
}

export interface BatchDecision {
	/** Indices (into `waiting`) of requests whose deadline has passed: reject, do not run. */
	expired: number[];
	/** Indices of the requests to run now as one batch, in queue order; empty for none. */
	batch: number[];
	/**
	 * When to decide again if nothing arrives or finishes before; null when only an arrival or
	 * a finishing batch can change anything. Meaningless when `batch` is not empty: the queue
	 * decides again at once after starting it.
	 */
	wakeAt: number | null;
}

type DecisionOptions = Pick<
	BatchingOptions,
	"enabled" | "maxBatchSize" | "maxQueueDelayMicros" | "preferredBatchSizes"
>;

/**
 * Decides what the queue does now. The oldest live request always leads the batch (first in,
 * first out); later requests of its group join in queue order while the rows fit in
 * `maxBatchSize`, and the first one that does not fit closes the batch (it leads the next).
 * The batch runs now when it is full, when it reaches a preferred size (the largest reached;
 * later requests wait for the next batch), when its leader has waited `maxQueueDelayMicros`,
 * or when draining; otherwise the queue waits until the leader's delay ends or the next
 * deadline, whichever comes first.
 */
export function decideBatch(context: BatchContext, options: DecisionOptions): BatchDecision {
	const { waiting, now } = context;
	// Plain loops, no closures: this runs once or twice per request on the serving path.
	let expired: number[] = NONE;
	let leaderIndex = -1;
	let nextDeadline = Infinity;
	for (let index = 0; index < waiting.length; index++) {
		const deadline = waiting[index].deadline;
		if (deadline === undefined) {
			if (leaderIndex === -1) leaderIndex = index;
		} else if (deadline <= now) {
			if (expired === NONE) expired = [];
			expired.push(index);
		} else {
			if (leaderIndex === -1) leaderIndex = index;
			if (deadline < nextDeadline) nextDeadline = deadline;
		}
	}
	if (leaderIndex === -1 || context.freeSlots <= 0) return wait(expired, nextDeadline);

	const leader = waiting[leaderIndex];
	if (!options.enabled || leader.rows >= options.maxBatchSize) {
		return { expired, batch: [leaderIndex], wakeAt: null };
	}

	const { maxBatchSize, preferredBatchSizes } = options;
	const preferred = preferredBatchSizes.length > 0;
	const batch = [leaderIndex];
	let rows = leader.rows;
	let full = false;
	let preferredLength = preferred && preferredBatchSizes.includes(rows) ? 1 : 0;
	for (let index = leaderIndex + 1; index < waiting.length; index++) {
		const request = waiting[index];
		if (request.group !== leader.group) continue;
		if (request.deadline !== undefined && request.deadline <= now) continue;
		if (rows + request.rows > maxBatchSize) {
			full = true;
			break;
		}
		batch.push(index);
		rows += request.rows;
		if (preferred && preferredBatchSizes.includes(rows)) preferredLength = batch.length;
		if (rows === maxBatchSize) {
			full = true;
			break;
		}
	}

	const delayEnds = leader.enqueuedAt + options.maxQueueDelayMicros / 1000;
	if (full || context.draining || now >= delayEnds) return { expired, batch, wakeAt: null };
	if (preferredLength > 0)
		return { expired, batch: batch.slice(0, preferredLength), wakeAt: null };
	return wait(expired, Math.min(delayEnds, nextDeadline));
}

/** The shared empty list of a decision that expires nothing; never written to. */
const NONE: number[] = [];

function wait(expired: number[], until: number): BatchDecision {
	return { expired, batch: [], wakeAt: Number.isFinite(until) ? until : null };
}
