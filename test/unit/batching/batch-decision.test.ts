import {
	decideBatch,
	type BatchDecision,
	type WaitingRequest,
} from "../../../lib/batching/batch-decision";
import {
	resolveBatchingOptions,
	type BatchingOptions,
} from "../../../lib/batching/batching-options";

/** A request of `rows` rows in group `group`, queued at `at` ms, with an optional deadline. */
function req(rows: number, at = 10, group = "a", deadline?: number): WaitingRequest {
	return { rows, enqueuedAt: at, group, deadline };
}

interface Case {
	name: string;
	waiting: WaitingRequest[];
	now?: number;
	freeSlots?: number;
	draining?: boolean;
	options?: Partial<BatchingOptions>;
	expected: BatchDecision;
}

// maxBatchSize 8 rows, 1 ms delay, one slot, time 10 ms unless a case says otherwise.
const base: Partial<BatchingOptions> = { maxBatchSize: 8, maxQueueDelayMicros: 1000 };

const cases: Case[] = [
	{
		name: "waits for nothing when the queue is empty",
		waiting: [],
		expected: { expired: [], batch: [], wakeAt: null },
	},
	{
		name: "waits until the leader's delay ends",
		waiting: [req(2, 10)],
		expected: { expired: [], batch: [], wakeAt: 11 },
	},
	{
		name: "runs what it has once the leader waited the delay",
		waiting: [req(2, 9), req(1, 9.5)],
		expected: { expired: [], batch: [0, 1], wakeAt: null },
	},
	{
		name: "runs at once with no delay configured",
		waiting: [req(2, 10)],
		options: { maxQueueDelayMicros: 0 },
		expected: { expired: [], batch: [0], wakeAt: null },
	},
	{
		name: "runs at once when the rows reach maxBatchSize",
		waiting: [req(4), req(4), req(1)],
		expected: { expired: [], batch: [0, 1], wakeAt: null },
	},
	{
		name: "closes the batch at the first request that does not fit",
		waiting: [req(4), req(3), req(2), req(1)],
		expected: { expired: [], batch: [0, 1], wakeAt: null },
	},
	{
		name: "runs a leader larger than maxBatchSize alone",
		waiting: [req(12), req(1)],
		expected: { expired: [], batch: [0], wakeAt: null },
	},
	{
		name: "runs the batch before a large request, which leads the next",
		waiting: [req(2), req(12)],
		expected: { expired: [], batch: [0], wakeAt: null },
	},
	{
		name: "joins only requests of the leader's group, skipping others",
		waiting: [req(2, 10, "a"), req(2, 10, "b"), req(6, 10, "a")],
		expected: { expired: [], batch: [0, 2], wakeAt: null },
	},
	{
		name: "runs the prefix that reaches a preferred size at once",
		waiting: [req(2), req(2), req(1)],
		options: { preferredBatchSizes: [4] },
		expected: { expired: [], batch: [0, 1], wakeAt: null },
	},
	{
		name: "runs the largest preferred size reached",
		waiting: [req(2), req(2), req(1)],
		options: { preferredBatchSizes: [2, 4] },
		expected: { expired: [], batch: [0, 1], wakeAt: null },
	},
	{
		name: "runs all rows at the end of the delay even off the preferred sizes",
		waiting: [req(3, 8), req(2, 9)],
		options: { preferredBatchSizes: [4] },
		expected: { expired: [], batch: [0, 1], wakeAt: null },
	},
	{
		name: "rejects requests whose deadline passed and waits for the rest",
		waiting: [req(1, 5, "a", 10), req(2, 10, "a", 30)],
		expected: { expired: [0], batch: [], wakeAt: 11 },
	},
	{
		name: "wakes at a deadline that comes before the delay ends",
		waiting: [req(2, 10), req(1, 10, "b", 10.5)],
		expected: { expired: [], batch: [], wakeAt: 10.5 },
	},
	{
		name: "runs nothing while every slot is busy, waking for the next deadline",
		waiting: [req(2, 0), req(2, 0, "a", 20)],
		freeSlots: 0,
		expected: { expired: [], batch: [], wakeAt: 20 },
	},
	{
		name: "waits for a slot with no deadline to wake for",
		waiting: [req(2, 0)],
		freeSlots: 0,
		expected: { expired: [], batch: [], wakeAt: null },
	},
	{
		name: "runs each request alone and at once when batching is disabled",
		waiting: [req(1), req(1)],
		options: { enabled: false },
		expected: { expired: [], batch: [0], wakeAt: null },
	},
	{
		name: "runs what is waiting without delay when draining",
		waiting: [req(1), req(1, 10, "b"), req(1)],
		draining: true,
		expected: { expired: [], batch: [0, 2], wakeAt: null },
	},
];

describe("decideBatch", () => {
	it.each(cases)("$name", ({ waiting, now, freeSlots, draining, options, expected }) => {
		const resolved = resolveBatchingOptions({ ...base, ...options });
		expect(
			decideBatch({ waiting, now: now ?? 10, freeSlots: freeSlots ?? 1, draining }, resolved),
		).toEqual(expected);
	});
});
