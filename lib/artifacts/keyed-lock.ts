/**
 * Runs async sections one at a time per key. The store uses it so that storing a hash and
 * collecting it as garbage never interleave (a put of existing content refreshes the blob
 * that GC is about to delete).
 */
export class KeyedLock {
	private readonly tails = new Map<string, Promise<unknown>>();

	async run<T>(key: string, section: () => Promise<T>): Promise<T> {
		const previous = this.tails.get(key) ?? Promise.resolve();
		const current = previous.then(section);
		const tail = current.catch(() => undefined);
		this.tails.set(key, tail);
		try {
			return await current;
		} finally {
			// The last one out forgets the key, so the map holds only keys in use.
			if (this.tails.get(key) === tail) this.tails.delete(key);
		}
	}

	/** Keys with a section running or waiting. */
	get size(): number {
		return this.tails.size;
	}
}
