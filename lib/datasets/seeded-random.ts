/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on
 * every platform, and its whole state is one uint32, so a training checkpoint can carry it and a
 * resumed run draws exactly what the uninterrupted run would have drawn.
 */
export class SeededRandom {
	private s: number;

	/** @param seed any integer; only its low 32 bits matter */
	constructor(seed: number) {
		this.s = seed >>> 0;
	}

	/** The generator's whole state; `new SeededRandom(r.state)` continues where `r` is. */
	get state(): number {
		return this.s;
	}

	/** A uint32. */
	nextUint32(): number {
		this.s = (this.s + 0x6d2b79f5) >>> 0;
		let t = this.s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return (t ^ (t >>> 14)) >>> 0;
	}

	/** A float in [0, 1). */
	next(): number {
		return this.nextUint32() / 4294967296;
	}

	/** An integer in [0, n). */
	int(n: number): number {
		return Math.floor(this.next() * n);
	}

	/** Shuffles in place (Fisher–Yates) and returns the array. */
	shuffle<T extends { length: number; [i: number]: number }>(array: T): T {
		for (let i = array.length - 1; i > 0; i--) {
			const j = this.int(i + 1);
			const tmp = array[i];
			array[i] = array[j];
			array[j] = tmp;
		}
		return array;
	}

	/** 0 … n-1 in a random order. */
	permutation(n: number): Uint32Array {
		const out = new Uint32Array(n);
		for (let i = 0; i < n; i++) out[i] = i;
		return this.shuffle(out);
	}

	/** A generator of its own, seeded from this one: one stream per purpose. */
	fork(): SeededRandom {
		return new SeededRandom(this.nextUint32());
	}
}
