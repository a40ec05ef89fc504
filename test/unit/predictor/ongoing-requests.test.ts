import { OngoingRequests } from "../../../lib/predictor/ongoing-requests";

describe("OngoingRequests", () => {
	it("averages the count over about a second, so a busy version reads busy between requests", () => {
		let now = 0;
		const ongoing = new OngoingRequests(1000, () => now);
		// Short requests back to back: the count is 0 most instants a sample could be taken.
		for (let i = 0; i < 1000; i++) {
			ongoing.begin("k");
			now += 3;
			ongoing.end("k");
			now += 1;
		}
		expect(ongoing.current("k")).toBe(0);
		expect(ongoing.average("k")).toBeGreaterThan(0.65);
		expect(ongoing.average("k")).toBeLessThan(0.8);
	});

	it("fades after the load stops, and rises to a steady count", () => {
		let now = 0;
		const ongoing = new OngoingRequests(1000, () => now);
		for (let i = 0; i < 4; i++) ongoing.begin("k");
		now += 5000;
		expect(ongoing.average("k")).toBeCloseTo(4, 1);
		for (let i = 0; i < 4; i++) ongoing.end("k");
		now += 5000;
		expect(ongoing.average("k")).toBeLessThan(0.05);
		expect(ongoing.average("other")).toBe(0);
	});
});
