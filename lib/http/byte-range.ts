/**
 * The conditional and range headers of a file download (RFC 9110 §13–14), as pure functions:
 * one `bytes=` range is served as 206; several, or one that does not parse, are ignored (the
 * whole file, as the RFC allows); a range that starts past the end answers 416.
 */

export type RangeChoice =
	{ kind: "full" } | { kind: "partial"; start: number; end: number } | { kind: "unsatisfiable" };

const ONE_RANGE = /^bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/** What to send for a `Range` header (and `If-Range`, compared with the file's ETag). */
export function chooseRange(
	header: string | undefined,
	size: number,
	ifRange?: { header: string | undefined; etag: string },
): RangeChoice {
	if (header === undefined || header === "") return { kind: "full" };
	// If-Range names another version of the file: the whole current one instead.
	if (ifRange?.header !== undefined && ifRange.header.trim() !== ifRange.etag)
		return { kind: "full" };
	const match = ONE_RANGE.exec(header);
	if (!match || (match[1] === "" && match[2] === "")) return { kind: "full" };
	const [, first, last] = match;
	if (first === "") {
		// A suffix: the last N bytes.
		const count = Number(last);
		if (count === 0 || size === 0) return { kind: "unsatisfiable" };
		return { kind: "partial", start: Math.max(0, size - count), end: size - 1 };
	}
	const start = Number(first);
	const end = last === "" ? Number.MAX_SAFE_INTEGER : Number(last);
	if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start)
		return { kind: "full" };
	if (start >= size) return { kind: "unsatisfiable" };
	return { kind: "partial", start, end: Math.min(end, size - 1) };
}

/** Whether an `If-None-Match` header matches the ETag (weak comparison, as for GET). */
export function etagMatches(header: string | undefined, etag: string): boolean {
	if (header === undefined) return false;
	const bare = (tag: string) => tag.trim().replace(/^W\//, "");
	return header
		.split(",")
		.map(bare)
		.some(tag => tag === "*" || tag === bare(etag));
}
