/** Polls `probe` until it returns a value (not undefined) or the time is up; the error says what was awaited. */
export async function waitFor<T>(
	what: string,
	probe: () => Promise<T | undefined> | T | undefined,
	timeoutMs: number,
	intervalMs = 100,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	for (;;) {
		try {
			const value = await probe();
			if (value !== undefined) return value;
		} catch (err) {
			lastError = err;
		}
		if (Date.now() >= deadline) {
			const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
			throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${why}`);
		}
		await new Promise(resolve => setTimeout(resolve, intervalMs));
	}
}
