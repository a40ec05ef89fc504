import { InvalidConfigurationError, type ConfigurationProblem } from "../../errors";

/** The gateway's rate limits: defaults documented, resolved and checked once. */
export interface RateLimitOptions {
	/**
	 * Requests one API key may make per window, counted over every route together; on routes
	 * that need no key, per client address. 0 turns rate limiting off. Default 0.
	 */
	limit: number;
	/** Length of a window in ms; windows start at multiples of it since the epoch. Default 60 000. */
	windowMs: number;
	/** Redis shared by every gateway, so they count together; null counts in this process. Default null. */
	redisUrl: string | null;
	/** Prefix of the counters' keys in Redis. Default "modelfleet:ratelimit:". */
	keyPrefix: string;
}

export const DEFAULT_RATE_LIMIT_OPTIONS: Readonly<RateLimitOptions> = Object.freeze({
	limit: 0,
	windowMs: 60_000,
	redisUrl: null,
	keyPrefix: "modelfleet:ratelimit:",
});

/** Merges the defaults in, checks every field at once and freezes the result. */
export function resolveRateLimitOptions(
	options: Partial<RateLimitOptions> = {},
): Readonly<RateLimitOptions> {
	const merged: RateLimitOptions = { ...DEFAULT_RATE_LIMIT_OPTIONS, ...options };
	const problems: ConfigurationProblem[] = [];
	if (!Number.isSafeInteger(merged.limit) || merged.limit < 0)
		problems.push({
			setting: "rateLimit.limit",
			problem: `${merged.limit} is not a whole number ≥ 0`,
		});
	if (!Number.isSafeInteger(merged.windowMs) || merged.windowMs <= 0)
		problems.push({
			setting: "rateLimit.windowMs",
			problem: `${merged.windowMs} is not a positive whole number of milliseconds`,
		});
	if (problems.length > 0) throw new InvalidConfigurationError(problems);
	return Object.freeze(merged);
}
