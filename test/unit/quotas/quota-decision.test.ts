import { decideRate, decideSize, rateWindow } from "../../../lib/quotas/quota-decision";
import { normalizeQuotas } from "../../../lib/quotas/quota-spec";

describe("decideSize", () => {
	it.each([
		// [limit, current, adding, refused]
		[undefined, 100, 1, false],
		[3, 2, 1, false],
		[3, 3, 1, true],
		[3, 1, 3, true],
		[0, 0, 1, true],
		[3, 5, 0, false],
		[3, 5, -2, false],
	])("limit %p, in use %p, adding %p → refused %p", (limit, current, adding, refused) => {
		const quotas = limit === undefined ? {} : { models: limit };
		const decision = decideSize(quotas, "models", current, adding);
		expect(decision !== null).toBe(refused);
		if (decision) expect(decision).toEqual({ quota: "models", kind: "size", limit, current });
	});
});

describe("decideRate", () => {
	const now = Date.parse("2026-03-04T05:10:30Z");

	it("allows while the window holds fewer than the limit, then refuses until it ends", () => {
		expect(decideRate({ predictionsPerMinute: 2 }, "predictionsPerMinute", 1, now)).toBeNull();
		expect(decideRate({ predictionsPerMinute: 2 }, "predictionsPerMinute", 2, now)).toEqual({
			quota: "predictionsPerMinute",
			kind: "rate",
			limit: 2,
			current: 2,
			retryAfterMs: 30_000,
		});
		expect(decideRate({}, "predictionsPerDay", 10 ** 9, now)).toBeNull();
	});

	it("aligns windows to UTC minutes and days", () => {
		expect(rateWindow("predictionsPerDay", now).endsAt).toBe(
			Date.parse("2026-03-05T00:00:00Z"),
		);
		expect(rateWindow("predictionsPerMinute", now).endsAt).toBe(
			Date.parse("2026-03-04T05:11:00Z"),
		);
	});
});

describe("normalizeQuotas", () => {
	it("keeps whole numbers ≥ 0, drops nulls (unlimited) and refuses unknown names or bad values", () => {
		expect(normalizeQuotas({ models: 3, versions: null, predictionsPerDay: 0 })).toEqual({
			models: 3,
			predictionsPerDay: 0,
		});
		expect(() => normalizeQuotas({ gpu: 1 })).toThrow(/Unknown quota 'gpu'/);
		expect(() => normalizeQuotas({ models: 1.5 })).toThrow(/whole number/);
		expect(() => normalizeQuotas({ models: -1 })).toThrow(/whole number/);
	});
});
