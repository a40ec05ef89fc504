/**
 * Quota decisions as pure functions: from a tenant's limits and its current use to "allowed"
 * or the refusal to answer. The services gather the counts and carry the decision out.
 */
import { QUOTAS, type QuotaName, type Quotas } from "./quota-spec";

/** Why a request is refused: the quota, its limit and the use it would exceed. */
export interface QuotaRefusal {
	quota: QuotaName;
	kind: "size" | "rate";
	limit: number;
	/** The use before this request. */
	current: number;
	/** For rates: ms until the window ends. */
	retryAfterMs?: number;
}

/**
 * Whether adding `adding` to `current` stays within the tenant's `quota`: null when it does (or
 * the quota is unlimited), else the refusal. Taking nothing (`adding` ≤ 0) is always allowed, so
 * a tenant over a lowered quota may still shrink.
 */
export function decideSize(
	quotas: Readonly<Quotas>,
	quota: QuotaName,
	current: number,
	adding: number,
): QuotaRefusal | null {
	const limit = quotas[quota];
	if (limit === undefined || adding <= 0) return null;
	if (current + adding <= limit) return null;
	return { quota, kind: QUOTAS[quota], limit, current };
}

/** The fixed windows of the rate quotas, aligned to the wall clock (UTC minutes and days). */
export const RATE_WINDOWS_MS: Readonly<
	Record<"predictionsPerMinute" | "predictionsPerDay", number>
> = { predictionsPerMinute: 60_000, predictionsPerDay: 86_400_000 };

export type RateQuota = keyof typeof RATE_WINDOWS_MS;
export const RATE_QUOTAS = Object.keys(RATE_WINDOWS_MS) as RateQuota[];

/** The window `now` falls in for a rate quota: its index and when it ends. */
export function rateWindow(quota: RateQuota, now: number): { index: number; endsAt: number } {
	const ms = RATE_WINDOWS_MS[quota];
	const index = Math.floor(now / ms);
	return { index, endsAt: (index + 1) * ms };
}

/**
 * Whether one more request fits a rate quota whose window holds `used` requests already
 * (counted over every gateway as well as this one knows): null, or the 429 refusal.
 */
export function decideRate(
	quotas: Readonly<Quotas>,
	quota: RateQuota,
	used: number,
	now: number,
): QuotaRefusal | null {
	const limit = quotas[quota];
	if (limit === undefined || used < limit) return null;
	return {
		quota,
		kind: "rate",
		limit,
		current: used,
		retryAfterMs: rateWindow(quota, now).endsAt - now,
	};
}
