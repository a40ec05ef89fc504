/**
 * A tenant's quotas: what each one limits, whether it is a size (403 over it) or a rate (429),
 * and the rule that checks a quota document set by an admin. A quota left out (or null) is
 * unlimited; 0 allows none.
 */
import { InvalidInputError } from "../errors";

/** Every quota, with what it counts. */
export const QUOTAS = {
	/** Models the tenant holds. */
	models: "size",
	/** Versions over all of the tenant's models. */
	versions: "size",
	/** Bytes of the tenant's model files and datasets in the artifact store. */
	storedBytes: "size",
	/** Deployments the tenant holds. */
	deployments: "size",
	/** Desired replicas over all of the tenant's deployments (an autoscaled one: its maximum). */
	replicas: "size",
	/** GPUs those replicas ask for (a GPU deployment: one per replica). */
	gpus: "size",
	/** Training jobs queued or running at once. */
	concurrentTrainingJobs: "size",
	/** Prediction requests per wall-clock minute. */
	predictionsPerMinute: "rate",
	/** Prediction requests per UTC day. */
	predictionsPerDay: "rate",
} as const satisfies Record<string, "size" | "rate">;

export type QuotaName = keyof typeof QUOTAS;
export const QUOTA_NAMES = Object.keys(QUOTAS) as QuotaName[];

/** A tenant's limits: a quota absent is unlimited. */
export type Quotas = Partial<Record<QuotaName, number>>;

/** The action parameter rule of a quota document (`PUT /api/v1/tenants/{id}/quotas`). */
export const QUOTAS_RULE = {
	type: "object",
	strict: true,
	props: Object.fromEntries(
		QUOTA_NAMES.map(name => [
			name,
			{ type: "number", integer: true, min: 0, optional: true, nullable: true },
		]),
	),
} as const;

export function isQuotaName(value: unknown): value is QuotaName {
	return typeof value === "string" && Object.hasOwn(QUOTAS, value);
}

/**
 * A quota document as stored: known names with whole numbers ≥ 0; null or absent names are
 * dropped (unlimited). Anything else is a 400 naming the field.
 */
export function normalizeQuotas(input: Record<string, unknown>): Quotas {
	const quotas: Quotas = {};
	for (const [name, value] of Object.entries(input)) {
		if (!isQuotaName(name))
			throw new InvalidInputError(
				`Unknown quota '${name}'; quotas are: ${QUOTA_NAMES.join(", ")}.`,
			);
		if (value === null || value === undefined) continue;
		if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
			throw new InvalidInputError(
				`Quota '${name}' must be a whole number ≥ 0 (or null for no limit), not ${JSON.stringify(value)}.`,
			);
		quotas[name] = value;
	}
	return quotas;
}
