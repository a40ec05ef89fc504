import { checkReadiness } from "../../../lib/health/readiness";

describe("checkReadiness", () => {
	it("is ready when started and every needed service is available", () => {
		expect(checkReadiness(true, ["a", "b"], () => true)).toEqual({ ready: true, missing: [] });
	});

	it("names the services that are missing", () => {
		expect(checkReadiness(true, ["a", "b", "c"], name => name === "b")).toEqual({
			ready: false,
			missing: ["a", "c"],
		});
	});

	it("is not ready before the broker has started", () => {
		expect(checkReadiness(false, [], () => true).ready).toBe(false);
	});
});
