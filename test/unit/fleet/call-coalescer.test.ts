import {
	CallCoalescer,
	type CoalescerOptions,
	type Settled,
} from "../../../lib/fleet/call-coalescer";

interface Item {
	id: number;
	fail?: boolean;
}

/** A transport whose calls the test answers by hand, recording what was sent. */
class ManualTransport {
	readonly sent: Item[][] = [];
	private readonly answers: Array<() => void> = [];

	one = (item: Item): Promise<string> => {
		this.sent.push([item]);
		return new Promise((resolve, reject) =>
			this.answers.push(() =>
				item.fail ? reject(new Error(`bad ${item.id}`)) : resolve(`r${item.id}`),
			),
		);
	};

	many = (items: readonly Item[]): Promise<ReadonlyArray<Settled<string>>> => {
		this.sent.push([...items]);
		return new Promise(resolve =>
			this.answers.push(() =>
				resolve(
					items.map(item =>
						item.fail
							? { ok: false, error: new Error(`bad ${item.id}`) }
							: { ok: true, value: `r${item.id}` },
					),
				),
			),
		);
	};

	/** Answers the oldest unanswered call. */
	answerNext(): void {
		const answer = this.answers.shift();
		if (!answer) throw new Error("no call to answer");
		answer();
	}

	get pending(): number {
		return this.answers.length;
	}
}

const OPTIONS: CoalescerOptions = {
	maxRows: 8,
	maxBytes: 1000,
	maxWaitMicros: 300,
	maxInFlight: 1,
};

/** Lets immediates and promise callbacks run. */
const turn = () => new Promise(resolve => setImmediate(resolve));

describe("CallCoalescer", () => {
	it("sends a lone item at once, alone, with no wait", async () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(OPTIONS, transport);
		const answer = coalescer.submit("k", { id: 1 }, 1, 10);
		// Sent synchronously: no timer or immediate stands between the caller and the call.
		expect(transport.sent).toEqual([[{ id: 1 }]]);
		transport.answerNext();
		await expect(answer).resolves.toBe("r1");
		expect(coalescer.stats()).toEqual({ calls: 1, groups: 0, items: 1 });
	});

	it("queues items while the key's call is out and sends them as one group when it answers", async () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(
			{ ...OPTIONS, maxWaitMicros: 60_000_000 },
			transport,
		);
		const first = coalescer.submit("k", { id: 1 }, 1, 10);
		const rest = [2, 3, 4].map(id => coalescer.submit("k", { id }, 1, 10));
		await turn();
		expect(transport.sent).toEqual([[{ id: 1 }]]);
		transport.answerNext();
		await first;
		expect(transport.sent[1]).toEqual([{ id: 2 }, { id: 3 }, { id: 4 }]);
		transport.answerNext();
		await expect(Promise.all(rest)).resolves.toEqual(["r2", "r3", "r4"]);
		expect(coalescer.stats()).toEqual({ calls: 2, groups: 1, items: 4 });
	});

	it("keeps keys apart", async () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(OPTIONS, transport);
		void coalescer.submit("a", { id: 1 }, 1, 10);
		void coalescer.submit("b", { id: 2 }, 1, 10);
		expect(transport.sent).toEqual([[{ id: 1 }], [{ id: 2 }]]);
	});

	it("gives each caller its own error, and the others their answers", async () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(
			{ ...OPTIONS, maxWaitMicros: 60_000_000 },
			transport,
		);
		const first = coalescer.submit("k", { id: 1 }, 1, 10);
		const group = [
			coalescer.submit("k", { id: 2 }, 1, 10),
			coalescer.submit("k", { id: 3, fail: true }, 1, 10),
			coalescer.submit("k", { id: 4 }, 1, 10),
		];
		transport.answerNext();
		await first;
		transport.answerNext();
		const outcomes = await Promise.allSettled(group);
		expect(outcomes.map(o => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
		expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error("bad 3"));
		expect((outcomes[0] as PromiseFulfilledResult<string>).value).toBe("r2");
	});

	it("fails every item of a group whose call fails as a whole", async () => {
		const coalescer = new CallCoalescer<Item, string>(
			{ ...OPTIONS, maxWaitMicros: 60_000_000 },
			{
				one: () => new Promise(resolve => setTimeout(() => resolve("one"), 5)),
				many: () => Promise.reject(new Error("node gone")),
			},
		);
		const first = coalescer.submit("k", { id: 1 }, 1, 10);
		const group = [2, 3].map(id => coalescer.submit("k", { id }, 1, 10));
		await expect(first).resolves.toBe("one");
		const outcomes = await Promise.allSettled(group);
		expect(outcomes.map(o => (o as PromiseRejectedResult).reason?.message)).toEqual([
			"node gone",
			"node gone",
		]);
	});

	it("flushes as soon as a group reaches its row bound, without waiting for the call out", () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(
			{ ...OPTIONS, maxWaitMicros: 60_000_000 },
			transport,
		);
		void coalescer.submit("k", { id: 1 }, 1, 10);
		for (let id = 2; id <= 5; id++) void coalescer.submit("k", { id }, 2, 10);
		// 4 items × 2 rows = 8 rows = maxRows: sent at once.
		expect(transport.sent.map(s => s.map(i => i.id))).toEqual([[1], [2, 3, 4, 5]]);
	});

	it("never lets a group pass its byte bound; an item as large as the bound travels alone", () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(
			{ ...OPTIONS, maxWaitMicros: 60_000_000 },
			transport,
		);
		void coalescer.submit("k", { id: 1 }, 1, 10);
		void coalescer.submit("k", { id: 2 }, 1, 600);
		void coalescer.submit("k", { id: 3 }, 1, 600); // 1200 > 1000: the queue [2] goes first
		void coalescer.submit("k", { id: 4 }, 1, 1000); // alone, at once
		expect(transport.sent.map(s => s.map(i => i.id))).toEqual([[1], [2], [4]]);
		expect(transport.pending).toBe(3);
	});

	it("sends a queued item after the wait bound even while the key's call is still out", async () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(
			{ ...OPTIONS, maxWaitMicros: 300 },
			transport,
		);
		void coalescer.submit("k", { id: 1 }, 1, 10);
		void coalescer.submit("k", { id: 2 }, 1, 10);
		void coalescer.submit("k", { id: 3 }, 1, 10);
		expect(transport.sent).toHaveLength(1);
		// The bound is 300 µs; a timer fires at millisecond granularity. Generous for a loaded machine.
		await new Promise(resolve => setTimeout(resolve, 50));
		expect(transport.sent.map(s => s.map(i => i.id))).toEqual([[1], [2, 3]]);
	});

	it("lets maxInFlight calls of a key out alone before items queue", async () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(
			{ ...OPTIONS, maxInFlight: 2, maxWaitMicros: 60_000_000 },
			transport,
		);
		const first = coalescer.submit("k", { id: 1 }, 1, 10);
		for (let id = 2; id <= 4; id++) void coalescer.submit("k", { id }, 1, 10);
		expect(transport.sent.map(s => s.map(i => i.id))).toEqual([[1], [2]]);
		transport.answerNext();
		await first;
		expect(transport.sent.map(s => s.map(i => i.id))).toEqual([[1], [2], [3, 4]]);
	});

	it("forgets a key once it is idle, and a later lone item again goes at once", async () => {
		const transport = new ManualTransport();
		const coalescer = new CallCoalescer<Item, string>(OPTIONS, transport);
		const first = coalescer.submit("k", { id: 1 }, 1, 10);
		transport.answerNext();
		await first;
		void coalescer.submit("k", { id: 2 }, 1, 10);
		expect(transport.sent).toEqual([[{ id: 1 }], [{ id: 2 }]]);
	});
});
