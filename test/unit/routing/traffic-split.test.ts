import { InvalidInputError } from "../../../lib/errors";
import {
	hashToUnit,
	pickTarget,
	validateTraffic,
	type TrafficTarget,
} from "../../../lib/routing/traffic-split";

/** A seeded generator (mulberry32), so the random splits are the same on every run. */
function seeded(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function tally(picks: string[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const pick of picks) counts[pick] = (counts[pick] ?? 0) + 1;
	return counts;
}

const canary: TrafficTarget[] = [
	{ version: "1.0.0", weight: 90 },
	{ version: "1.1.0", weight: 10 },
];

describe("validateTraffic", () => {
	it("accepts weights that sum above 0, zero weights included", () => {
		expect(validateTraffic(canary)).toBeNull();
		expect(
			validateTraffic([
				{ version: "a", weight: 1 },
				{ version: "b", weight: 0 },
			]),
		).toBeNull();
	});

	it.each<[string, TrafficTarget[], string]>([
		["no version", [], "traffic must name at least one version"],
		[
			"all weights 0",
			[
				{ version: "a", weight: 0 },
				{ version: "b", weight: 0 },
			],
			"traffic weights sum to 0: give at least one version a weight above 0",
		],
		[
			"a negative weight",
			[{ version: "a", weight: -1 }],
			"the weight of version a must be a number ≥ 0 (got -1)",
		],
		[
			"a weight that is not a number",
			[{ version: "a", weight: Number.NaN }],
			"the weight of version a must be a number ≥ 0 (got NaN)",
		],
		[
			"a version twice",
			[
				{ version: "a", weight: 1 },
				{ version: "a", weight: 2 },
			],
			"version a appears twice in traffic: merge them",
		],
		["an empty version", [{ version: "", weight: 1 }], "every traffic entry needs a version"],
	])("refuses %s", (_name, targets, message) => {
		expect(validateTraffic(targets)).toBe(message);
	});
});

describe("pickTarget", () => {
	it("sends everything to a single version", () => {
		expect(pickTarget([{ version: "1.0.0", weight: 3 }], undefined, () => 0.999)).toBe("1.0.0");
	});

	it("splits requests without a key by random(), along the weights", () => {
		expect(pickTarget(canary, undefined, () => 0)).toBe("1.0.0");
		expect(pickTarget(canary, undefined, () => 0.8999)).toBe("1.0.0");
		expect(pickTarget(canary, undefined, () => 0.9)).toBe("1.1.0");
		expect(pickTarget(canary, undefined, () => 0.99999)).toBe("1.1.0");
	});

	it("lands 2,000 unkeyed requests over 90/10 within 85–95 / 5–15", () => {
		const random = seeded(42);
		const counts = tally(
			Array.from({ length: 2_000 }, () => pickTarget(canary, undefined, random)),
		);
		expect(counts["1.0.0"] / 2_000).toBeGreaterThanOrEqual(0.85);
		expect(counts["1.0.0"] / 2_000).toBeLessThanOrEqual(0.95);
		expect(counts["1.1.0"] / 2_000).toBeGreaterThanOrEqual(0.05);
		expect(counts["1.1.0"] / 2_000).toBeLessThanOrEqual(0.15);
	});

	it("never picks a version of weight 0", () => {
		const targets = [
			{ version: "a", weight: 0 },
			{ version: "b", weight: 1 },
			{ version: "c", weight: 0 },
		];
		for (const r of [0, 0.5, 0.999999, 1])
			expect(pickTarget(targets, undefined, () => r)).toBe("b");
		for (let i = 0; i < 200; i++) expect(pickTarget(targets, `key-${i}`)).toBe("b");
	});

	it("gives a sticky key the same version every time, without calling random()", () => {
		const random = jest.fn(() => 0.5);
		const first = pickTarget(canary, "user-17", random);
		for (let i = 0; i < 50; i++) expect(pickTarget(canary, "user-17", random)).toBe(first);
		expect(random).not.toHaveBeenCalled();
	});

	it("spreads 10,000 sticky keys over 90/10 within ±2%", () => {
		const counts = tally(
			Array.from({ length: 10_000 }, (_, i) => pickTarget(canary, `user-${i}`)),
		);
		expect(Math.abs(counts["1.0.0"] / 10_000 - 0.9)).toBeLessThanOrEqual(0.02);
		expect(Math.abs(counts["1.1.0"] / 10_000 - 0.1)).toBeLessThanOrEqual(0.02);
	});

	it("spreads sticky keys that look alike (uuids, e-mail addresses) by the weights too", () => {
		const thirds = [
			{ version: "a", weight: 1 },
			{ version: "b", weight: 1 },
			{ version: "c", weight: 1 },
		];
		const counts = tally(
			Array.from({ length: 9_000 }, (_, i) => pickTarget(thirds, `u${i}@example.com`)),
		);
		for (const version of ["a", "b", "c"]) {
			expect(Math.abs(counts[version] / 9_000 - 1 / 3)).toBeLessThanOrEqual(0.02);
		}
	});

	it("routes a key the same whatever order the split is stored in", () => {
		const reversed = [...canary].reverse();
		for (let i = 0; i < 500; i++) {
			expect(pickTarget(reversed, `k${i}`)).toBe(pickTarget(canary, `k${i}`));
		}
	});

	it("moves keys only toward the canary when its weight rises", () => {
		const raised = [
			{ version: "1.0.0", weight: 70 },
			{ version: "1.1.0", weight: 30 },
		];
		let moved = 0;
		for (let i = 0; i < 2_000; i++) {
			const before = pickTarget(canary, `k${i}`);
			const after = pickTarget(raised, `k${i}`);
			if (before === "1.1.0") expect(after).toBe("1.1.0");
			if (before !== after) moved++;
		}
		expect(moved).toBeGreaterThan(0);
	});

	it("sends everything back to one version after a rollback to 100/0", () => {
		const rolledBack = [
			{ version: "1.0.0", weight: 100 },
			{ version: "1.1.0", weight: 0 },
		];
		const picks = Array.from({ length: 2_000 }, (_, i) =>
			i % 2 === 0 ? pickTarget(rolledBack, `k${i}`) : pickTarget(rolledBack, undefined),
		);
		expect(tally(picks)).toEqual({ "1.0.0": 2_000 });
	});

	it("refuses a split that validateTraffic refuses, with a client error", () => {
		expect(() => pickTarget([], undefined)).toThrow(InvalidInputError);
		expect(() => pickTarget([{ version: "a", weight: 0 }], "k")).toThrow(
			"Invalid traffic split: traffic weights sum to 0",
		);
	});
});

describe("hashToUnit", () => {
	it("maps keys into [0, 1), the same key always to the same point", () => {
		for (const key of ["", "a", "user-1", "ünïcødé", "x".repeat(1_000)]) {
			const point = hashToUnit(key);
			expect(point).toBeGreaterThanOrEqual(0);
			expect(point).toBeLessThan(1);
			expect(hashToUnit(key)).toBe(point);
		}
		expect(hashToUnit("user-1")).not.toBe(hashToUnit("user-2"));
	});
});
