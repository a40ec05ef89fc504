import { ByteBudget } from "../../../lib/http/byte-budget";

describe("ByteBudget", () => {
	it("takes bytes per key up to its limit, and in total up to the total", () => {
		const budget = new ByteBudget({ perKeyBytes: 100, totalBytes: 150 });
		expect(budget.take("a", 60)).toBeNull();
		expect(budget.take("a", 41)).toBe("key");
		expect(budget.take("a", 40)).toBeNull();
		expect(budget.take("b", 60)).toBe("total");
		expect(budget.take("b", 50)).toBeNull();
		expect(budget.inFlight("a")).toBe(100);
		expect(budget.inFlight()).toBe(150);
	});

	it("takes nothing when it refuses, and gives back exactly what was taken", () => {
		const budget = new ByteBudget({ perKeyBytes: 100, totalBytes: 100 });
		expect(budget.take("a", 101)).toBe("key");
		expect(budget.inFlight()).toBe(0);
		budget.take("a", 70);
		budget.take("b", 30);
		budget.give("a", 70);
		expect(budget.inFlight("a")).toBe(0);
		expect(budget.callers).toBe(1);
		expect(budget.take("c", 70)).toBeNull();
		budget.give("b", 30);
		budget.give("c", 70);
		expect(budget.inFlight()).toBe(0);
		expect(budget.callers).toBe(0);
	});
});
