/**
 * How much one inference request may carry. Limits are checked from the shapes
 * before any typed array is allocated, so an oversized request costs no memory beyond its JSON.
 */
import {
	InvalidConfigurationError,
	RequestTooLargeError,
	type ConfigurationProblem,
} from "../errors";

export interface RequestLimits {
	/** Rows (the batch dimension, or `instances`) one request may hold; more fails with 413. Default 10 000. */
	maxRowsPerRequest: number;
	/**
	 * Bytes the decoded tensors may hold, all inputs together, counted from the typed data
	 * (elements × element size; UTF-8 bytes for BYTES); more fails with 413. Default 64 MiB.
	 */
	maxRequestBytes: number;
}

export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
	maxRowsPerRequest: 10_000,
	maxRequestBytes: 64 * 1024 ** 2,
});

/** Merges the defaults in, checks every field at once and freezes the result. */
export function resolveRequestLimits(limits: Partial<RequestLimits> = {}): Readonly<RequestLimits> {
	const merged: RequestLimits = { ...DEFAULT_REQUEST_LIMITS, ...limits };
	const problems: ConfigurationProblem[] = [];
	for (const key of ["maxRowsPerRequest", "maxRequestBytes"] as const) {
		if (!Number.isSafeInteger(merged[key]) || merged[key] <= 0)
			problems.push({
				setting: `inference.${key}`,
				problem: `${merged[key]} is not a positive whole number`,
			});
	}
	if (problems.length > 0) throw new InvalidConfigurationError(problems);
	return Object.freeze(merged);
}

/** The 413 for a request over a limit, naming the limit's setting. */
export function requestTooLarge(
	what: string,
	actual: number,
	limit: number,
	setting: keyof RequestLimits,
	unit: string,
): RequestTooLargeError {
	return new RequestTooLargeError(what, actual, limit, setting, unit);
}
