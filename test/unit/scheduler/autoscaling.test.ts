import {
	clampReplicas,
	decideReplicas,
	INITIAL_AUTOSCALING_STATE,
	validateAutoscalingPolicy,
	type AutoscalingDecision,
	type AutoscalingPolicy,
	type AutoscalingState,
} from "../../../lib/scheduler/autoscaling";

const policy: AutoscalingPolicy = {
	minReplicas: 1,
	maxReplicas: 5,
	targetOngoingRequests: 4,
	upscaleDelayMs: 1_000,
	downscaleDelayMs: 10_000,
};

/** Feeds the signal samples in order, as the scheduler would, and returns every decision. */
function run(
	samples: Array<{ at: number; ongoing: number }>,
	start = 1,
	p: AutoscalingPolicy = policy,
): AutoscalingDecision[] {
	let current = start;
	let state: AutoscalingState = INITIAL_AUTOSCALING_STATE;
	return samples.map(({ at, ongoing }) => {
		const decision = decideReplicas(p, current, ongoing, at, state);
		current = decision.desired;
		state = decision.state;
		return decision;
	});
}

describe("clampReplicas", () => {
	it.each([
		[0, 1, 5, 1],
		[3, 1, 5, 3],
		[9, 1, 5, 5],
		[0, 0, 5, 0],
	])("bounds %d by [%d, %d] to %d", (n, min, max, expected) => {
		expect(clampReplicas(n, min, max)).toBe(expected);
	});
});

describe("validateAutoscalingPolicy", () => {
	it("accepts a usable policy, scale-to-zero included", () => {
		expect(validateAutoscalingPolicy(policy)).toBeNull();
		expect(validateAutoscalingPolicy({ ...policy, minReplicas: 0 })).toBeNull();
	});

	it.each<[Partial<AutoscalingPolicy>, RegExp]>([
		[{ minReplicas: -1 }, /^minReplicas must be a whole number ≥ 0 \(got -1\)$/],
		[{ minReplicas: 1.5 }, /^minReplicas/],
		[{ maxReplicas: 0, minReplicas: 0 }, /^maxReplicas must be a whole number ≥ 1/],
		[
			{ minReplicas: 4, maxReplicas: 2 },
			/^maxReplicas \(2\) must not be below minReplicas \(4\)$/,
		],
		[{ targetOngoingRequests: 0 }, /^targetOngoingRequests must be a number > 0 \(got 0\)$/],
		[{ targetOngoingRequests: Number.NaN }, /^targetOngoingRequests/],
		[{ upscaleDelayMs: -5 }, /^upscaleDelayMs must be a number of milliseconds ≥ 0/],
		[{ downscaleDelayMs: Infinity }, /^downscaleDelayMs/],
	])("refuses %j", (change, message) => {
		expect(validateAutoscalingPolicy({ ...policy, ...change })).toMatch(message);
	});
});

describe("decideReplicas", () => {
	it("starts from an idle state", () => {
		expect(INITIAL_AUTOSCALING_STATE).toEqual({ wantUpSince: null, wantDownSince: null });
		expect(Object.isFrozen(INITIAL_AUTOSCALING_STATE)).toBe(true);
	});

	it("keeps the count while the signal matches it", () => {
		// 8 ongoing over 2 replicas is exactly the target of 4 each.
		const decision = decideReplicas(policy, 2, 8, 0, INITIAL_AUTOSCALING_STATE);
		expect(decision).toEqual({ desired: 2, state: INITIAL_AUTOSCALING_STATE });
	});

	it("does not scale up before the upscale delay", () => {
		const decision = decideReplicas(policy, 2, 38, 0, INITIAL_AUTOSCALING_STATE);
		expect(decision).toEqual({ desired: 2, state: { wantUpSince: 0, wantDownSince: null } });
		const later = decideReplicas(policy, 2, 38, 999, decision.state);
		expect(later.desired).toBe(2);
		expect(later.change).toBeUndefined();
	});

	it("scales up once the signal wanted it for the whole delay, and names the signal", () => {
		const [, second] = run(
			[
				{ at: 0, ongoing: 18 },
				{ at: 1_000, ongoing: 18 },
			],
			2,
		);
		expect(second).toEqual({
			desired: 5,
			state: INITIAL_AUTOSCALING_STATE,
			change: { from: 2, to: 5, reason: "ongoing 18 over 2 replicas = 9/replica > target 4" },
		});
	});

	it("goes to what the signal wants at the end of the delay, capped at maxReplicas", () => {
		const decisions = run(
			[
				{ at: 0, ongoing: 10 },
				{ at: 1_000, ongoing: 38 },
			],
			2,
		);
		expect(decisions[1].change).toEqual({
			from: 2,
			to: 5,
			reason: "ongoing 38 over 2 replicas = 19/replica > target 4 (capped at maxReplicas 5)",
		});
	});

	it("restarts the upscale delay when the signal stops wanting more", () => {
		const decisions = run([
			{ at: 0, ongoing: 10 },
			{ at: 600, ongoing: 2 }, // back at target: the timer resets
			{ at: 1_200, ongoing: 10 }, // wants up again from here
			{ at: 2_000, ongoing: 10 }, // 800 ms: not yet
			{ at: 2_200, ongoing: 10 }, // 1,000 ms: now
		]);
		expect(decisions.map(d => d.desired)).toEqual([1, 1, 1, 1, 3]);
		expect(decisions[1].state).toEqual(INITIAL_AUTOSCALING_STATE);
		expect(decisions[2].state.wantUpSince).toBe(1_200);
	});

	it("a flip from wanting down to wanting up resets the downscale timer", () => {
		const decisions = run(
			[
				{ at: 0, ongoing: 0 }, // wants down
				{ at: 9_000, ongoing: 20 }, // flips: wants up
				{ at: 9_500, ongoing: 0 }, // wants down again, from here
				{ at: 10_000, ongoing: 0 }, // would have been 10 s without the flip
				{ at: 19_500, ongoing: 0 },
			],
			3,
		);
		expect(decisions[1].state).toEqual({ wantUpSince: 9_000, wantDownSince: null });
		expect(decisions[2].state).toEqual({ wantUpSince: null, wantDownSince: 9_500 });
		expect(decisions.map(d => d.desired)).toEqual([3, 3, 3, 3, 1]);
		expect(decisions[4].change).toEqual({
			from: 3,
			to: 1,
			reason: "ongoing 0 over 3 replicas = 0/replica < target 4 (kept at minReplicas 1)",
		});
	});

	it("scales down only after the downscale delay, to what the signal wants", () => {
		const decisions = run(
			[
				{ at: 0, ongoing: 5 },
				{ at: 9_999, ongoing: 5 },
				{ at: 10_000, ongoing: 5 },
			],
			4,
		);
		expect(decisions.map(d => d.desired)).toEqual([4, 4, 2]);
		expect(decisions[2].change).toEqual({
			from: 4,
			to: 2,
			reason: "ongoing 5 over 4 replicas = 1.25/replica < target 4",
		});
	});

	it("makes at most one change per delay: the next step waits a full delay again", () => {
		const decisions = run([
			{ at: 0, ongoing: 8 },
			{ at: 1_000, ongoing: 8 }, // 1 → 2
			{ at: 1_500, ongoing: 20 },
			{ at: 2_000, ongoing: 20 }, // 500 ms since it wanted more: not yet
			{ at: 2_500, ongoing: 20 }, // 2 → 5
		]);
		expect(decisions.map(d => d.desired)).toEqual([1, 2, 2, 2, 5]);
		expect(decisions.filter(d => d.change).map(d => d.change?.to)).toEqual([2, 5]);
	});

	it("scales up at once with no delay configured", () => {
		const decision = decideReplicas(
			{ ...policy, upscaleDelayMs: 0 },
			1,
			9,
			0,
			INITIAL_AUTOSCALING_STATE,
		);
		expect(decision.change).toEqual({
			from: 1,
			to: 3,
			reason: "ongoing 9 over 1 replica = 9/replica > target 4",
		});
	});

	it("scales to zero and back up from zero at once when a request arrives", () => {
		const zero = { ...policy, minReplicas: 0 };
		const decisions = run(
			[
				{ at: 0, ongoing: 0 },
				{ at: 10_000, ongoing: 0 }, // 1 → 0
				{ at: 10_001, ongoing: 1 }, // 0 → 1 without waiting: nothing can serve it
			],
			1,
			zero,
		);
		expect(decisions.map(d => d.desired)).toEqual([1, 0, 1]);
		expect(decisions[2].change).toEqual({
			from: 0,
			to: 1,
			reason: "ongoing 1 with no replicas",
		});
	});

	it("stays at zero while nothing is ongoing", () => {
		const decision = decideReplicas(
			{ ...policy, minReplicas: 0 },
			0,
			0,
			0,
			INITIAL_AUTOSCALING_STATE,
		);
		expect(decision).toEqual({ desired: 0, state: INITIAL_AUTOSCALING_STATE });
	});

	it("never goes above maxReplicas or below minReplicas", () => {
		const up = run(
			[
				{ at: 0, ongoing: 1_000 },
				{ at: 1_000, ongoing: 1_000 },
			],
			5,
		);
		expect(up.map(d => d.desired)).toEqual([5, 5]);
		expect(up[1].change).toBeUndefined();
		const down = run(
			[
				{ at: 0, ongoing: 0 },
				{ at: 20_000, ongoing: 0 },
			],
			1,
		);
		expect(down.map(d => d.desired)).toEqual([1, 1]);
	});

	it("brings a count outside new bounds inside at once", () => {
		expect(
			decideReplicas({ ...policy, minReplicas: 3 }, 1, 0, 0, INITIAL_AUTOSCALING_STATE)
				.change,
		).toEqual({ from: 1, to: 3, reason: "below minReplicas 3" });
		expect(
			decideReplicas({ ...policy, maxReplicas: 2 }, 4, 100, 0, INITIAL_AUTOSCALING_STATE)
				.change,
		).toEqual({ from: 4, to: 2, reason: "above maxReplicas 2" });
	});

	it("keeps the count for an invalid policy or a signal that is not a number", () => {
		const bad = { ...policy, targetOngoingRequests: 0 };
		expect(decideReplicas(bad, 2, 100, 5_000, { wantUpSince: 0, wantDownSince: null })).toEqual(
			{ desired: 2, state: INITIAL_AUTOSCALING_STATE },
		);
		expect(decideReplicas(policy, 2, Number.NaN, 0, INITIAL_AUTOSCALING_STATE).desired).toBe(2);
	});

	it("is deterministic and does not modify the state it is given", () => {
		const state: AutoscalingState = { wantUpSince: 0, wantDownSince: null };
		const a = decideReplicas(policy, 1, 30, 1_000, state);
		const b = decideReplicas(policy, 1, 30, 1_000, state);
		expect(a).toEqual(b);
		expect(state).toEqual({ wantUpSince: 0, wantDownSince: null });
	});
});
