/**
 * A seeded PRNG (mulberry32) so that every run of a benchmark sees the same weights and rows.
 */
export type Random = () => number;

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): Random {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** `count` uniform values in [low, high). */
export function uniformFloats(
	random: Random,
	count: number,
	low: number,
	high: number,
): Float32Array {
	const values = new Float32Array(count);
	for (let i = 0; i < count; i++) values[i] = low + (high - low) * random();
	return values;
}
