import { PendingCalls } from "../../../lib/fleet/pending-calls";

describe("PendingCalls", () => {
	const settings = { suspectAfterMs: 100, latencyMultiple: 4, maxSuspectMs: 1000 };
	let now = 0;
	const clock = () => now;

	beforeEach(() => {
		now = 1_000;
	});

	it("suspects a node whose oldest call has waited past the least suspicion time", () => {
		const calls = new PendingCalls(clock);
		calls.begin("a");
		now += 50;
		calls.begin("b");
		now += 60;
		expect(calls.suspects(now, settings)).toEqual(["a"]);
		now += 50;
		expect(calls.suspects(now, settings).sort()).toEqual(["a", "b"]);
	});

	it("forgets answered and failed calls, so an idle node is never suspect", () => {
		const calls = new PendingCalls(clock);
		const first = calls.begin("a");
		const second = calls.begin("a");
		calls.end("a", first, true);
		calls.end("a", second, false);
		now += 10_000;
		expect(calls.suspects(now, settings)).toEqual([]);
		expect(calls.count("a")).toBe(0);
	});

	it("waits longer for a node whose calls usually take longer", () => {
		const calls = new PendingCalls(clock);
		const slow = calls.begin("slow");
		now += 200;
		calls.end("slow", slow, true); // usual latency 200 ms → suspect after 800 ms
		expect(calls.suspectAfterMs("slow", settings)).toBe(800);
		calls.begin("slow");
		now += 500;
		expect(calls.suspects(now, settings)).toEqual([]);
		now += 300;
		expect(calls.suspects(now, settings)).toEqual(["slow"]);
	});

	it("never waits longer than the most it may, however slow the node usually is", () => {
		const calls = new PendingCalls(clock);
		const slow = calls.begin("slow");
		now += 2000;
		calls.end("slow", slow, true); // 4 × 2 s would be 8 s
		expect(calls.suspectAfterMs("slow", settings)).toBe(1000);
		calls.begin("slow");
		now += 1000;
		expect(calls.suspects(now, settings)).toEqual(["slow"]);
	});

	it("does not learn latency from failed calls", () => {
		const calls = new PendingCalls(clock);
		const failed = calls.begin("a");
		now += 5_000;
		calls.end("a", failed, false);
		expect(calls.suspectAfterMs("a", settings)).toBe(100);
	});

	it("counts the calls pending per node", () => {
		const calls = new PendingCalls(clock);
		calls.begin("a");
		const b = calls.begin("a");
		calls.begin("b");
		calls.end("a", b, true);
		expect([calls.count("a"), calls.count("b"), calls.count("c")]).toEqual([1, 1, 0]);
	});
});
