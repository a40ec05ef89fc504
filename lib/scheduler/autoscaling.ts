/**
 * How many replicas a deployment wants, on Ray Serve's signal: requests ongoing
 * (running or queued) per replica against a target. A pure function from the policy, the
 * replicas now, the signal, the time and the previous state to a decision and the next state;
 * the scheduler samples the signal, keeps the state per deployment, emits
 * `autoscaling.triggered` with the reason and hands the count to placement, which bounds it by
 * capacity.
 */

export interface AutoscalingPolicy {
	minReplicas: number;
	maxReplicas: number;
	/** Ongoing (running + queued) requests each replica should have. */
	targetOngoingRequests: number;
	/** How long the signal must want more replicas, without a break, before scaling up. */
	upscaleDelayMs: number;
	/** How long the signal must want fewer replicas, without a break, before scaling down. */
	downscaleDelayMs: number;
}

/** Since when the signal has wanted a change in each direction; null = it does not now. */
export interface AutoscalingState {
	wantUpSince: number | null;
	wantDownSince: number | null;
}

export interface AutoscalingDecision {
	desired: number;
	state: AutoscalingState;
	/** Set only when desired changes; the reason names the signal, e.g. "ongoing 38 over 2 replicas = 19/replica > target 4". */
	change?: { from: number; to: number; reason: string };
}

export const INITIAL_AUTOSCALING_STATE: AutoscalingState = Object.freeze({
	wantUpSince: null,
	wantDownSince: null,
});

/** `replicas` bounded by [minReplicas, maxReplicas]. */
export function clampReplicas(replicas: number, minReplicas: number, maxReplicas: number): number {
	return Math.min(maxReplicas, Math.max(minReplicas, replicas));
}

/** null when the policy is usable; else a message that says which field is wrong and why. */
export function validateAutoscalingPolicy(policy: AutoscalingPolicy): string | null {
	const { minReplicas, maxReplicas, targetOngoingRequests, upscaleDelayMs, downscaleDelayMs } =
		policy;
	if (!Number.isInteger(minReplicas) || minReplicas < 0) {
		return `minReplicas must be a whole number ≥ 0 (got ${minReplicas})`;
	}
	if (!Number.isInteger(maxReplicas) || maxReplicas < 1) {
		return `maxReplicas must be a whole number ≥ 1 (got ${maxReplicas})`;
	}
	if (maxReplicas < minReplicas) {
		return `maxReplicas (${maxReplicas}) must not be below minReplicas (${minReplicas})`;
	}
	if (!Number.isFinite(targetOngoingRequests) || targetOngoingRequests <= 0) {
		return `targetOngoingRequests must be a number > 0 (got ${targetOngoingRequests})`;
	}
	for (const [name, value] of [
		["upscaleDelayMs", upscaleDelayMs],
		["downscaleDelayMs", downscaleDelayMs],
	] as const) {
		if (!Number.isFinite(value) || value < 0) {
			return `${name} must be a number of milliseconds ≥ 0 (got ${value})`;
		}
	}
	return null;
}

/**
 * Decides the replica count. The signal wants `clamp(ceil(ongoing / target), min, max)`.
 *
 * - A count outside [min, max] (the policy changed) is brought inside at once.
 * - From 0 replicas, any ongoing request scales up at once: nothing can serve it meanwhile.
 * - Otherwise the count moves only after the signal has wanted that direction without a break
 *   for the direction's delay; a decision that wants the other direction, or no change, resets
 *   the timer. The move goes straight to what the signal wants now (like Ray Serve's default
 *   smoothing factor of 1), so there is at most one change per delay: a change resets both
 *   timers, and the next one in the same direction waits a full delay again.
 *
 * An invalid policy (see validateAutoscalingPolicy) or a signal that is not a number keeps the
 * count as it is.
 */
export function decideReplicas(
	policy: AutoscalingPolicy,
	current: number,
	ongoingRequests: number,
	now: number,
	state: AutoscalingState,
): AutoscalingDecision {
	const idle: AutoscalingState = { wantUpSince: null, wantDownSince: null };
	if (validateAutoscalingPolicy(policy) !== null || !Number.isFinite(ongoingRequests)) {
		return { desired: current, state: idle };
	}
	const { minReplicas, maxReplicas, targetOngoingRequests: target } = policy;
	const change = (to: number, reason: string): AutoscalingDecision => ({
		desired: to,
		state: idle,
		change: { from: current, to, reason },
	});

	if (current < minReplicas) return change(minReplicas, `below minReplicas ${minReplicas}`);
	if (current > maxReplicas) return change(maxReplicas, `above maxReplicas ${maxReplicas}`);

	const ongoing = Math.max(0, ongoingRequests);
	const wanted = Math.ceil(ongoing / target);
	const desired = clampReplicas(wanted, minReplicas, maxReplicas);
	if (desired === current) return { desired: current, state: idle };

	const capped =
		wanted > maxReplicas
			? ` (capped at maxReplicas ${maxReplicas})`
			: wanted < minReplicas
				? ` (kept at minReplicas ${minReplicas})`
				: "";
	if (desired > current) {
		const reason =
			current === 0
				? `ongoing ${ongoing} with no replicas${capped}`
				: `ongoing ${ongoing} over ${perReplica(ongoing, current)} > target ${target}${capped}`;
		if (current === 0) return change(desired, reason);
		const since = state.wantUpSince ?? now;
		if (now - since >= policy.upscaleDelayMs) return change(desired, reason);
		return { desired: current, state: { wantUpSince: since, wantDownSince: null } };
	}
	const since = state.wantDownSince ?? now;
	if (now - since >= policy.downscaleDelayMs) {
		return change(
			desired,
			`ongoing ${ongoing} over ${perReplica(ongoing, current)} < target ${target}${capped}`,
		);
	}
	return { desired: current, state: { wantUpSince: null, wantDownSince: since } };
}

/** "2 replicas = 19/replica" */
function perReplica(ongoing: number, replicas: number): string {
	const each = Number((ongoing / replicas).toFixed(2));
	return `${replicas} ${replicas === 1 ? "replica" : "replicas"} = ${each}/replica`;
}
