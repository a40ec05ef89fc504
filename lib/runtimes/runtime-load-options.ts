/**
 * The load options of every runtime, merged with their defaults once and checked at once
 * (docs/architecture.md, "Conventions"). Thread counts default to 1, never to a runtime's own
 * default of all cores: the runtime pool's threads are the parallelism, and many models share one
 * node.
 */
import { InvalidConfigurationError, type ConfigurationProblem } from "../errors";
import type { RuntimeLoadOptions } from "./model-runtime";

export interface ResolvedRuntimeLoadOptions {
	/** Default ["cpu"]. */
	readonly executionProviders: readonly string[];
	/** Default 1. */
	readonly intraOpThreads: number;
	/** Default 1. */
	readonly interOpThreads: number;
	/** Default: process.emitWarning (a "ModelfleetRuntimeWarning"). */
	readonly warn: (message: string) => void;
}

export const DEFAULT_RUNTIME_LOAD_OPTIONS: ResolvedRuntimeLoadOptions = Object.freeze({
	executionProviders: Object.freeze(["cpu"]),
	intraOpThreads: 1,
	interOpThreads: 1,
	warn: (message: string) => process.emitWarning(message, "ModelfleetRuntimeWarning"),
});

/**
 * @throws InvalidConfigurationError naming every option that is wrong (thread counts that are
 *   not positive integers, an empty provider list or empty provider names)
 */
export function resolveRuntimeLoadOptions(
	options: RuntimeLoadOptions = {},
): ResolvedRuntimeLoadOptions {
	const problems: ConfigurationProblem[] = [];
	for (const setting of ["intraOpThreads", "interOpThreads"] as const) {
		const value = options[setting];
		if (value !== undefined && (!Number.isInteger(value) || value < 1))
			problems.push({
				setting,
				problem: `${String(value)} is not a positive whole number of threads`,
			});
	}
	const providers = options.executionProviders;
	if (providers !== undefined && (providers.length === 0 || providers.some(p => !p.trim())))
		problems.push({
			setting: "executionProviders",
			problem: `${JSON.stringify(providers)} must list at least one provider name, e.g. ["cuda", "cpu"]`,
		});
	if (problems.length > 0) throw new InvalidConfigurationError(problems);
	return Object.freeze({
		executionProviders: Object.freeze(
			(providers ?? DEFAULT_RUNTIME_LOAD_OPTIONS.executionProviders).map(p =>
				p.trim().toLowerCase(),
			),
		),
		intraOpThreads: options.intraOpThreads ?? DEFAULT_RUNTIME_LOAD_OPTIONS.intraOpThreads,
		interOpThreads: options.interOpThreads ?? DEFAULT_RUNTIME_LOAD_OPTIONS.interOpThreads,
		warn: options.warn ?? DEFAULT_RUNTIME_LOAD_OPTIONS.warn,
	});
}

/**
 * For runtimes that run on one thing only (TF.js on its backend, XGBoost in JS): warns when the
 * caller's first choice is something else. "cpu" is met by any CPU execution.
 */
export function warnUnlessPreferred(
	options: ResolvedRuntimeLoadOptions,
	label: string,
	actual: string,
	satisfies: readonly string[],
): void {
	const wanted = options.executionProviders[0];
	if (!satisfies.includes(wanted))
		options.warn(
			`${label}: execution provider '${wanted}' is not available to this runtime; running on '${actual}' instead.`,
		);
}
