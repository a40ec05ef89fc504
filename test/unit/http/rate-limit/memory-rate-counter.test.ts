import { MemoryRateCounter } from "../../../../lib/http/rate-limit";
import { currentWindow } from "../../../../lib/http/rate-limit/rate-counter";

describe("MemoryRateCounter", () => {
	it("counts per key within a window aligned to the clock, and starts again in the next", async () => {
		let now = 120_500;
		const counter = new MemoryRateCounter(60_000, () => now);
		expect(await counter.hit("a")).toEqual({ count: 1, resetAt: 180_000 });
		expect(await counter.hit("a")).toEqual({ count: 2, resetAt: 180_000 });
		expect((await counter.hit("b")).count).toBe(1);
		now = 180_000;
		expect(await counter.hit("a")).toEqual({ count: 1, resetAt: 240_000 });
	});
});

describe("currentWindow", () => {
	it("puts a time in the window it falls in", () => {
		expect(currentWindow(59_999, 60_000)).toEqual({ index: 0, resetAt: 60_000 });
		expect(currentWindow(60_000, 60_000)).toEqual({ index: 1, resetAt: 120_000 });
	});
});
