/**
 * Which answer of a polled load is shown: only one loaded for the current deps (kept apart from
 * hooks.ts, which needs preact, so that it is tested without a DOM).
 */
/** What was loaded, when it was loaded for `deps` (the same values, in order); else undefined. */
export function loadedValue<T>(
	loaded: { value: T; deps: readonly unknown[] } | undefined,
	deps: readonly unknown[],
): T | undefined {
	if (loaded === undefined || loaded.deps.length !== deps.length) return undefined;
	return loaded.deps.every((dep, i) => Object.is(dep, deps[i])) ? loaded.value : undefined;
}
