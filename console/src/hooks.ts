/** The console's hooks: data loaded and refreshed on an interval, and the route in the URL's hash. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { loadedValue } from "./loaded";

export interface Loaded<T> {
	data: T | undefined;
	error: Error | null;
	reload: () => void;
}

/**
 * `load()` now and every `intervalMs` (0: once), again when `deps` change; the last answer for
 * the current `deps` kept.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[]): Loaded<T> {
	// What was loaded, and for which deps: data loaded for other deps (another model chosen a
	// moment ago) is not this render's, and is not shown until the new load answers.
	const [loaded, setLoaded] = useState<{ value: T; deps: unknown[] } | undefined>(undefined);
	const [error, setError] = useState<Error | null>(null);
	const [tick, setTick] = useState(0);
	const loadRef = useRef(load);
	loadRef.current = load;
	useEffect(() => {
		let live = true;
		let timer: ReturnType<typeof setTimeout> | undefined;
		const loadedFor = deps;
		const run = () => {
			loadRef
				.current()
				.then(
					value => {
						if (!live) return;
						setLoaded({ value, deps: loadedFor });
						setError(null);
					},
					(err: Error) => {
						if (live) setError(err);
					},
				)
				.finally(() => {
					if (live && intervalMs > 0) timer = setTimeout(run, intervalMs);
				});
		};
		run();
		return () => {
			live = false;
			clearTimeout(timer);
		};
	}, [...deps, tick, intervalMs]);
	const reload = useCallback(() => setTick(t => t + 1), []);
	return { data: loadedValue(loaded, deps), error, reload };
}

/** The hash route: `#/models/iris` → ["models", "iris"]. */
export function useHashRoute(): string[] {
	const parse = () =>
		location.hash
			.replace(/^#\/?/, "")
			.split("/")
			.filter(Boolean)
			.map(part => decodeURIComponent(part));
	const [route, setRoute] = useState(parse);
	useEffect(() => {
		const changed = () => setRoute(parse());
		addEventListener("hashchange", changed);
		return () => removeEventListener("hashchange", changed);
	}, []);
	return route;
}

export function go(...parts: string[]): void {
	location.hash = `#/${parts.map(encodeURIComponent).join("/")}`;
}
