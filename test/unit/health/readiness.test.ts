import { checkReadiness, runReadinessChecks } from "../../../lib/health/readiness";

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

describe("runReadinessChecks", () => {
	it("is ready when every check is met", async () => {
		expect(
			await runReadinessChecks(
				[
					{ name: "broker", ok: () => true },
					{ name: "database", ok: async () => true },
				],
				100,
			),
		).toEqual({ ready: true, missing: [] });
	});

	it("names each check that fails, throws or answers too late", async () => {
		const readiness = await runReadinessChecks(
			[
				{ name: "broker", ok: () => true },
				{ name: "predictor", ok: () => false },
				{
					name: "database",
					ok: () => Promise.reject(new Error("connection refused")),
				},
				{
					name: "slow",
					ok: () => new Promise<boolean>(r => setTimeout(() => r(true), 500)),
				},
				{
					name: "throws",
					ok: () => {
						throw new Error("no");
					},
				},
			],
			50,
		);
		expect(readiness).toEqual({
			ready: false,
			missing: ["predictor", "database", "slow", "throws"],
		});
	});
});
