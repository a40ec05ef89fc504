import { PredictionQuota } from "../../../lib/quotas/prediction-quota";
import type { Quotas } from "../../../lib/quotas/quota-spec";
import { MemorySharedCount, type SharedCount } from "../../../lib/quotas/shared-count";

const START = Date.parse("2026-03-04T05:10:00Z");

function gateway(
	shared: SharedCount,
	quotas: Quotas,
	clock: { now: number },
	exceeded: string[] = [],
) {
	let loads = 0;
	const quota = new PredictionQuota({
		loadQuotas: () => {
			loads++;
			return Promise.resolve(quotas);
		},
		shared,
		now: () => clock.now,
		onExceeded: (tenant, refusal) => exceeded.push(`${tenant}:${refusal.quota}`),
	});
	return { quota, loads: () => loads };
}

describe("PredictionQuota", () => {
	it("admits up to the per-minute limit on one gateway, then refuses with the wait; a new minute starts over", async () => {
		const clock = { now: START };
		const exceeded: string[] = [];
		const { quota, loads } = gateway(
			new MemorySharedCount(() => clock.now),
			{ predictionsPerMinute: 3 },
			clock,
			exceeded,
		);
		const answers = [];
		for (let i = 0; i < 5; i++) answers.push(await quota.admit("t"));
		expect(answers.slice(0, 3)).toEqual([null, null, null]);
		expect(answers[3]).toMatchObject({
			quota: "predictionsPerMinute",
			limit: 3,
			current: 3,
			retryAfterMs: 60_000,
		});
		// Reported once per window, not per refused request; the quotas were read once.
		expect(exceeded).toEqual(["t:predictionsPerMinute"]);
		expect(loads()).toBe(1);
		clock.now += 60_000;
		expect(await quota.admit("t")).toBeNull();
	});

	it("is free for tenants without rate quotas", async () => {
		const clock = { now: START };
		const shared = new MemorySharedCount();
		const add = jest.spyOn(shared, "add");
		const { quota } = gateway(shared, { models: 1 }, clock);
		for (let i = 0; i < 100; i++) expect(await quota.admit("t")).toBeNull();
		await quota.sync();
		expect(add).not.toHaveBeenCalled();
	});

	it("adds up what several gateways counted at each reconciliation", async () => {
		const clock = { now: START };
		const shared = new MemorySharedCount(() => clock.now);
		const a = gateway(shared, { predictionsPerDay: 10 }, clock).quota;
		const b = gateway(shared, { predictionsPerDay: 10 }, clock).quota;
		for (let i = 0; i < 4; i++) expect(await a.admit("t")).toBeNull();
		for (let i = 0; i < 4; i++) expect(await b.admit("t")).toBeNull();
		await a.sync();
		await b.sync();
		await a.sync();
		// 8 counted in all: each gateway has 2 left.
		expect(await a.admit("t")).toBeNull();
		expect(await a.admit("t")).toBeNull();
		expect(await a.admit("t")).toMatchObject({ quota: "predictionsPerDay", current: 10 });
	});

	it("is never held up by accounts that do not answer: known quotas keep applying, unknown ones wait at most controlWaitMs", async () => {
		const clock = { now: START };
		let accounts: "up" | "frozen" = "up";
		const quota = new PredictionQuota({
			loadQuotas: () =>
				accounts === "up"
					? Promise.resolve({ predictionsPerMinute: 2 })
					: new Promise<Quotas>(() => undefined),
			shared: new MemorySharedCount(() => clock.now),
			now: () => clock.now,
			controlOutageMs: 3600_000,
			controlWaitMs: 50,
		});
		expect(await quota.admit("t")).toBeNull();
		accounts = "frozen";
		clock.now += 60_000; // past the 10 s quota cache, in a new minute
		let started = performance.now();
		expect(await quota.admit("t")).toBeNull();
		expect(await quota.admit("t")).toBeNull();
		// Still decided on the quotas it knows: the third in this minute is refused.
		expect(await quota.admit("t")).toMatchObject({ quota: "predictionsPerMinute" });
		expect(performance.now() - started).toBeLessThan(40);
		// A tenant never read: allowed after the wait, not after the call's timeout.
		started = performance.now();
		expect(await quota.admit("other")).toBeNull();
		expect(performance.now() - started).toBeLessThan(1000);
	});

	it("lets predictions through when the quotas cannot be read", async () => {
		const quota = new PredictionQuota({
			loadQuotas: () => Promise.reject(new Error("accounts away")),
			shared: new MemorySharedCount(),
		});
		expect(await quota.admit("t")).toBeNull();
	});
});
