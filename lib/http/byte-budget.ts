/**
 * Bytes in flight, per caller and in total: what request bodies the gateway holds in memory
 * at once may add up to. Taking is all or nothing; a caller gives back exactly what it took.
 */
export interface ByteBudgetLimits {
	/** Most bytes one caller (an API key, or a client address) may hold. */
	perKeyBytes: number;
	/** Most bytes all callers together may hold. */
	totalBytes: number;
}

/** Which limit a take would pass: the caller's own, or the total. */
export type BudgetRefusal = "key" | "total";

export class ByteBudget {
	private readonly byKey = new Map<string, number>();
	private held = 0;

	constructor(readonly limits: Readonly<ByteBudgetLimits>) {}

	/** Takes `bytes` for `key`; null when taken, else the limit they would pass (nothing is taken then). */
	take(key: string, bytes: number): BudgetRefusal | null {
		const own = this.byKey.get(key) ?? 0;
		if (own + bytes > this.limits.perKeyBytes) return "key";
		if (this.held + bytes > this.limits.totalBytes) return "total";
		this.byKey.set(key, own + bytes);
		this.held += bytes;
		return null;
	}

	/** Gives back bytes taken for `key`. */
	give(key: string, bytes: number): void {
		if (bytes <= 0) return;
		const own = (this.byKey.get(key) ?? 0) - bytes;
		if (own > 0) this.byKey.set(key, own);
		else this.byKey.delete(key);
		this.held = Math.max(0, this.held - bytes);
	}

	/** Bytes held by `key`, or by everyone without one. */
	inFlight(key?: string): number {
		return key === undefined ? this.held : (this.byKey.get(key) ?? 0);
	}

	/** Callers holding bytes now. */
	get callers(): number {
		return this.byKey.size;
	}
}
