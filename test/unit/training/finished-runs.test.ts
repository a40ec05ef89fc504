import { FinishedRuns } from "../../../lib/training/finished-runs";

describe("a trainer's finished runs", () => {
	it("knows each attempt that ended, not the job's other attempts, and keeps the newest", () => {
		const runs = new FinishedRuns(2);
		runs.add("job-a", 1);
		expect(runs.has("job-a", 1)).toBe(true);
		expect(runs.has("job-a", 2)).toBe(false);
		expect(runs.has("job-b", 1)).toBe(false);
		runs.add("job-b", 1);
		runs.add("job-c", 3);
		expect([runs.has("job-a", 1), runs.has("job-b", 1), runs.has("job-c", 3)]).toEqual([
			false,
			true,
			true,
		]);
	});
});
