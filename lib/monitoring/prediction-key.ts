/**
 * The key a captured prediction's id is found by (`prediction_captures.prediction_keys`,
 * migration 0016): a 53-bit hash of the id's UTF-16 code units (cyrb53, bryc's public-domain
 * string hash), made in the node that stores or looks up — both engines agree, no id goes to
 * the database as text, and the database hashes nothing. Two ids sharing a key only make a
 * lookup decode one batch more (the reader keeps the captures whose id matches). Stored keys
 * depend on it: never change it.
 */
export function predictionKey(id: string): number {
	let h1 = 0xdeadbeef;
	let h2 = 0x41c6ce57;
	for (let i = 0; i < id.length; i++) {
		const c = id.charCodeAt(i);
		h1 = Math.imul(h1 ^ c, 2654435761);
		h2 = Math.imul(h2 ^ c, 1597334677);
	}
	h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
	h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
	h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
	h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
	return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The keys of some ids as a PostgreSQL bigint[] literal, `{k1,k2,…}`. */
export function predictionKeysLiteral(ids: readonly string[]): string {
	let text = "{";
	for (let i = 0; i < ids.length; i++) text += (i > 0 ? "," : "") + predictionKey(ids[i]);
	return text + "}";
}
