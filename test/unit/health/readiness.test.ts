import {
	decideFallbackReadiness,
	FallbackReadiness,
	runReadinessChecks,
} from "../../../lib/health/readiness";

describe("FallbackReadiness", () => {
	const needed = ["accounts", "registry", "predictor"];
	const essential = ["predictor"];

	it("is ready when started and every needed service is available", () => {
		expect(new FallbackReadiness(needed, essential).check(true, () => true)).toEqual({
			ready: true,
			missing: [],
		});
	});

	it("is not ready, naming them, while needed services were never seen", () => {
		expect(
			new FallbackReadiness(needed, essential).check(true, name => name === "registry"),
		).toEqual({ ready: false, missing: ["accounts", "predictor"] });
	});

	it("stays ready through the loss of a service it has seen, naming it degraded", () => {
		const readiness = new FallbackReadiness(needed, essential);
		readiness.check(true, () => true);
		expect(readiness.check(true, name => name === "predictor")).toEqual({
			ready: true,
			missing: [],
			degraded: ["accounts", "registry"],
		});
		expect(readiness.check(true, () => true)).toEqual({ ready: true, missing: [] });
	});

	it("is not ready without an essential service, seen or not", () => {
		const readiness = new FallbackReadiness(needed, essential);
		readiness.check(true, () => true);
		expect(readiness.check(true, name => name !== "predictor")).toEqual({
			ready: false,
			missing: ["predictor"],
		});
	});

	it("is not ready before the broker has started", () => {
		expect(new FallbackReadiness([], []).check(false, () => true).ready).toBe(false);
	});
});

describe("decideFallbackReadiness", () => {
	it("misses the unseen and the essential, and degrades the rest", () => {
		expect(decideFallbackReadiness(true, ["a", "b", "c"], new Set(["b", "c"]), ["c"])).toEqual({
			ready: false,
			missing: ["a", "c"],
			degraded: ["b"],
		});
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

	it("names a check met only through its fallback as degraded", async () => {
		expect(
			await runReadinessChecks(
				[
					{ name: "broker", ok: () => true },
					{ name: "registry", ok: () => true, degraded: () => true },
					{ name: "predictor", ok: () => true, degraded: () => false },
				],
				100,
			),
		).toEqual({ ready: true, missing: [], degraded: ["registry"] });
	});
});
