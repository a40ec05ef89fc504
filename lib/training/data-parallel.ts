/**
 * Data-parallel training's arithmetic, pure: how a global batch is sharded over the ranks, what
 * each rank sends for one step (its gradients, weighted by its rows, and its loss and metric
 * sums), how the contributions reduce to the gradient of the whole batch, and how a rank's
 * dropout seed is derived from the job's.
 *
 * A contribution is one Float32Array: `rows · ∂(mean loss of the shard)/∂w` for every weight
 * (the variables in order, flattened), then the shard's loss sum, metric sum and row count.
 * The sum of every rank's contribution, with its gradient part divided by the summed row count,
 * is the gradient of the mean loss over the whole batch: what one worker would have computed,
 * up to float rounding (the sum is taken in float64).
 *
 *     const vector = contribution(grads, rows, lossSum, metricSum);   // each rank
 *     const reduced = reduceContributions([v0, v1]);                 // rank 0
 *     const { gradients, lossSum, metricSum, rows } = readReduced(reduced, sizes);
 */

/** Trailing entries after the gradients: loss sum, metric sum, row count. */
export const CONTRIBUTION_TAIL = 3;

/** Rank `rank`'s rows of a batch of `batchRows`: a contiguous slice; sizes differ by ≤ 1. */
export function shardRange(
	batchRows: number,
	rank: number,
	size: number,
): { start: number; end: number } {
	if (!Number.isInteger(size) || size < 1) throw new RangeError(`size ${size} is not ≥ 1`);
	if (!Number.isInteger(rank) || rank < 0 || rank >= size)
		throw new RangeError(`rank ${rank} is not in 0..${size - 1}`);
	const base = Math.floor(batchRows / size);
	const extra = batchRows % size;
	const start = rank * base + Math.min(rank, extra);
	return { start, end: start + base + (rank < extra ? 1 : 0) };
}

/** What a rank sends for one step; `gradients` are of the shard's mean loss. */
export function contribution(
	gradients: readonly Float32Array[],
	rows: number,
	lossSum: number,
	metricSum: number,
): Float32Array {
	const length = gradients.reduce((n, g) => n + g.length, 0);
	const vector = new Float32Array(length + CONTRIBUTION_TAIL);
	let at = 0;
	for (const g of gradients) {
		for (let i = 0; i < g.length; i++) vector[at + i] = g[i] * rows;
		at += g.length;
	}
	vector[at] = lossSum;
	vector[at + 1] = metricSum;
	vector[at + 2] = rows;
	return vector;
}

/** The rows-weighted mean of the contributions' gradients, and their summed tail. */
export function reduceContributions(contributions: readonly Float32Array[]): Float32Array {
	if (contributions.length === 0) throw new RangeError("nothing to reduce");
	const length = contributions[0].length;
	if (length < CONTRIBUTION_TAIL) throw new RangeError("a contribution lacks its tail");
	const sum = new Float64Array(length);
	for (const c of contributions) {
		if (c.length !== length)
			throw new RangeError(
				`contributions differ in length (${c.length} and ${length}): the ranks train different networks`,
			);
		for (let i = 0; i < length; i++) sum[i] += c[i];
	}
	const rows = sum[length - 1];
	const reduced = new Float32Array(length);
	const weights = length - CONTRIBUTION_TAIL;
	for (let i = 0; i < weights; i++) reduced[i] = rows > 0 ? sum[i] / rows : 0;
	for (let i = weights; i < length; i++) reduced[i] = sum[i];
	return reduced;
}

/** A reduced vector back as one gradient per variable (`sizes`: each variable's length). */
export function readReduced(
	reduced: Float32Array,
	sizes: readonly number[],
): { gradients: Float32Array[]; lossSum: number; metricSum: number; rows: number } {
	const weights = sizes.reduce((n, s) => n + s, 0);
	if (reduced.length !== weights + CONTRIBUTION_TAIL)
		throw new RangeError(
			`the reduced vector holds ${reduced.length} values; this network needs ${weights + CONTRIBUTION_TAIL}`,
		);
	const gradients: Float32Array[] = [];
	let at = 0;
	for (const size of sizes) {
		gradients.push(reduced.slice(at, at + size));
		at += size;
	}
	return {
		gradients,
		lossSum: reduced[at],
		metricSum: reduced[at + 1],
		rows: reduced[at + 2],
	};
}

/**
 * Rank `rank`'s dropout seed for a draw of the job's dropout stream: every rank draws the same
 * values (the stream stays in step with a checkpoint's), and masks its own shard differently.
 * Rank 0 keeps the draw itself, so one worker drops as a run without data parallelism does.
 */
export function rankSeed(draw: number, rank: number): number {
	return (draw ^ Math.imul(rank, 0x9e3779b9)) >>> 0;
}

/** A contribution's bytes for the bus, and back (copied: a received Buffer may be unaligned). */
export function vectorBytes(vector: Float32Array): Buffer {
	return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

export function vectorOf(bytes: Uint8Array): Float32Array {
	if (bytes.byteLength % 4 !== 0)
		throw new RangeError(`${bytes.byteLength} bytes are not a whole number of float32 values`);
	const copy = new Uint8Array(bytes.byteLength);
	copy.set(bytes);
	return new Float32Array(copy.buffer);
}
