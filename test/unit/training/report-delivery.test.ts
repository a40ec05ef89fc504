import { deliver, deliveryWaitMs, DELIVERY_BACKOFF } from "../../../lib/training/report-delivery";

class Unreachable extends Error {}

/** A send that fails with `errors` in turn, then answers `answer`; counts its tries. */
function flaky<T>(errors: Error[], answer: T) {
	const send = async () => {
		send.tries++;
		const err = errors.shift();
		if (err) throw err;
		return answer;
	};
	send.tries = 0;
	return send;
}

describe("deliver", () => {
	it("tries again after each retryable failure, waiting longer each time, until answered", async () => {
		const waits: number[] = [];
		const send = flaky([new Unreachable("a"), new Unreachable("b"), new Unreachable("c")], 42);
		const answer = await deliver(send, {
			retryable: err => err instanceof Unreachable,
			sleep: async ms => void waits.push(ms),
			backoff: { firstMs: 100, maxMs: 300 },
		});
		expect(answer).toBe(42);
		expect(send.tries).toBe(4);
		expect(waits).toEqual([100, 200, 300]);
	});

	it("rejects at once with a failure that is not retryable", async () => {
		const send = flaky([new Unreachable("down"), new Error("bad report")], "never");
		await expect(
			deliver(send, { retryable: err => err instanceof Unreachable, sleep: async () => {} }),
		).rejects.toThrow("bad report");
		expect(send.tries).toBe(2);
	});

	it("gives up with the last error once aborted (the job superseded, the node stopping)", async () => {
		const abort = new AbortController();
		const send = flaky(
			Array.from({ length: 10 }, () => new Unreachable("still down")),
			"never",
		);
		await expect(
			deliver(send, {
				retryable: () => true,
				signal: abort.signal,
				sleep: async () => {
					if (send.tries === 3) abort.abort();
				},
			}),
		).rejects.toThrow("still down");
		expect(send.tries).toBe(3);
	});

	it("wakes from its wait when aborted", async () => {
		const abort = new AbortController();
		const delivering = deliver(flaky([new Unreachable("down")], 1), {
			retryable: () => true,
			signal: abort.signal,
			backoff: { firstMs: 60_000, maxMs: 60_000 },
		});
		setTimeout(() => abort.abort(), 10);
		await expect(delivering).rejects.toThrow("down");
	});

	it("tells each retry, with its try and wait", async () => {
		const retries: [string, number, number][] = [];
		await deliver(flaky([new Unreachable("x"), new Unreachable("y")], true), {
			retryable: () => true,
			sleep: async () => {},
			onRetry: (err, tries, waitMs) => retries.push([(err as Error).message, tries, waitMs]),
		});
		expect(retries).toEqual([
			["x", 1, DELIVERY_BACKOFF.firstMs],
			["y", 2, DELIVERY_BACKOFF.firstMs * 2],
		]);
	});
});

describe("deliveryWaitMs", () => {
	it("doubles from the first wait and stops at the cap", () => {
		const waits = [1, 2, 3, 4, 5, 6, 7, 8].map(t => deliveryWaitMs(t));
		expect(waits).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
	});
});
