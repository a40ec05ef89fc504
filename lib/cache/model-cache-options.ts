/**
 * The model cache's options (docs/architecture.md, "Conventions"): defaults documented, merged
 * once, validated, frozen.
 */
import { InvalidConfigurationError, type ConfigurationProblem } from "../errors";

export interface ModelCacheOptions {
	/**
	 * Memory the node's loaded models may hold, in bytes: the sum of their
	 * `LoadedModel.memoryBytes`. Least recently used unpinned models are evicted to stay
	 * within it. Required; nodes derive it from their memory (or GPU memory) and role.
	 */
	budgetBytes: number;
	/**
	 * After a failed load of a key, the next load of it starts no sooner than this, in ms;
	 * the wait doubles with each further consecutive failure. Requests arriving meanwhile
	 * wait for that attempt (never for a remembered error: failures are not cached). Default
	 * 250; 0 retries at once.
	 */
	retryBackoffMs: number;
	/** The longest wait between attempts however often a key failed, in ms. Default 10 000. */
	maxRetryBackoffMs: number;
}

export const DEFAULT_MODEL_CACHE_OPTIONS: Readonly<Omit<ModelCacheOptions, "budgetBytes">> =
	Object.freeze({
		retryBackoffMs: 250,
		maxRetryBackoffMs: 10_000,
	});

/** Merges the defaults in, checks every field at once and freezes the result. */
export function resolveModelCacheOptions(
	options: Partial<ModelCacheOptions> & Pick<ModelCacheOptions, "budgetBytes">,
	prefix = "modelCache",
): Readonly<ModelCacheOptions> {
	const merged: ModelCacheOptions = { ...DEFAULT_MODEL_CACHE_OPTIONS, ...options };
	const problems: ConfigurationProblem[] = [];
	const check = (ok: boolean, setting: keyof ModelCacheOptions, problem: string): void => {
		if (!ok) problems.push({ setting: `${prefix}.${setting}`, problem });
	};
	check(
		Number.isSafeInteger(merged.budgetBytes) && merged.budgetBytes > 0,
		"budgetBytes",
		`${merged.budgetBytes} is not a positive whole number of bytes`,
	);
	for (const key of ["retryBackoffMs", "maxRetryBackoffMs"] as const) {
		check(
			Number.isFinite(merged[key]) && merged[key] >= 0,
			key,
			`${merged[key]} is not a duration ≥ 0 ms`,
		);
	}
	if (problems.length > 0) throw new InvalidConfigurationError(problems);
	return Object.freeze(merged);
}
