/**
 * A deployment's health, 0–100, from four parts each scored 0–100: errors (the share of
 * predictions that failed on the server), latency (the p95 against the deployment's SLO),
 * drift (the latest drift window) and accuracy (the latest live-accuracy window against the
 * version's test metrics). The score is the weighted mean of the parts that are known; a part
 * without data (no SLO set, no feedback yet) is left out rather than guessed.
 */

export interface HealthInputs {
	/** Predictions seen and those that failed (server side); null without traffic. */
	requests: { total: number; failed: number } | null;
	/** p95 latency in ms, and the SLO in ms; null when either is unknown. */
	latency: { p95Ms: number; sloMs: number } | null;
	/** The latest drift window: the share of features that drifted, and the status. */
	drift: { driftedShare: number; status: "ok" | "drift" } | null;
	/** The latest accuracy window: the largest drop below a test metric (≤ 0: none). */
	accuracy: { worstDrop: number; degraded: boolean } | null;
}

export interface HealthPart {
	name: "errors" | "latency" | "drift" | "accuracy";
	/** 0–100; null when there is no data for it. */
	score: number | null;
	weight: number;
	/** What it was scored from, for a person. */
	detail: string;
}

export interface HealthScore {
	/** 0–100 (100 when no part is known: nothing says otherwise). */
	score: number;
	status: "healthy" | "degraded" | "unhealthy";
	parts: HealthPart[];
}

const clamp = (v: number) => Math.max(0, Math.min(100, v));

/** An error rate of 5 % or more scores 0; none scores 100; linear between. */
function errorsPart(requests: HealthInputs["requests"]): HealthPart {
	if (!requests || requests.total === 0)
		return { name: "errors", score: null, weight: 0.3, detail: "no traffic" };
	const rate = requests.failed / requests.total;
	return {
		name: "errors",
		score: clamp(100 * (1 - rate / 0.05)),
		weight: 0.3,
		detail: `${requests.failed} of ${requests.total} failed`,
	};
}

/** p95 within the SLO scores 100; at twice the SLO or more, 0; linear between. */
function latencyPart(latency: HealthInputs["latency"]): HealthPart {
	if (!latency)
		return { name: "latency", score: null, weight: 0.2, detail: "no SLO or no traffic" };
	const over = latency.p95Ms / latency.sloMs - 1;
	return {
		name: "latency",
		score: clamp(100 * (1 - Math.max(0, over))),
		weight: 0.2,
		detail: `p95 ${latency.p95Ms.toFixed(1)} ms, SLO ${latency.sloMs} ms`,
	};
}

/** No drifted feature scores 100; a drifting window at most 50, less as more features drift. */
function driftPart(drift: HealthInputs["drift"]): HealthPart {
	if (!drift) return { name: "drift", score: null, weight: 0.25, detail: "no drift window yet" };
	const score = drift.status === "ok" ? 100 : clamp(50 * (1 - drift.driftedShare));
	return {
		name: "drift",
		score,
		weight: 0.25,
		detail: `${Math.round(drift.driftedShare * 100)} % of features drifted`,
	};
}

/** No drop scores 100; a drop of 0.2 (twenty points) or more, 0; linear between. */
function accuracyPart(accuracy: HealthInputs["accuracy"]): HealthPart {
	if (!accuracy)
		return { name: "accuracy", score: null, weight: 0.25, detail: "no feedback window yet" };
	return {
		name: "accuracy",
		score: clamp(100 * (1 - Math.max(0, accuracy.worstDrop) / 0.2)),
		weight: 0.25,
		detail: accuracy.degraded
			? `degraded by ${accuracy.worstDrop.toFixed(3)}`
			: "within margin",
	};
}

export function healthScore(inputs: HealthInputs): HealthScore {
	const parts = [
		errorsPart(inputs.requests),
		latencyPart(inputs.latency),
		driftPart(inputs.drift),
		accuracyPart(inputs.accuracy),
	];
	let weighted = 0;
	let weights = 0;
	for (const part of parts) {
		if (part.score === null) continue;
		weighted += part.score * part.weight;
		weights += part.weight;
	}
	const score = weights > 0 ? Math.round(weighted / weights) : 100;
	return {
		score,
		status: score >= 80 ? "healthy" : score >= 50 ? "degraded" : "unhealthy",
		parts,
	};
}

/** The p-th percentile (0–100) of values, nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[rank];
}
