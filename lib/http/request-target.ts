/**
 * The edge check of a request's target (its path and query string, as the client sent them),
 * run before any route sees it: once percent-escapes are decoded, both must be UTF-8 without
 * NUL characters, and every `%` must start a two-hex-digit escape. Anything else is a 400
 * INVALID_TEXT naming the part: such text could only fail later, deeper (PostgreSQL refuses NUL
 * in text with a 500; `decodeURIComponent` throws on bad UTF-8).
 */
import { isUtf8 } from "node:buffer";
import { InvalidTextError } from "../errors";

function hexValue(c: number): number {
	if (c >= 0x30 && c <= 0x39) return c - 0x30;
	if (c >= 0x41 && c <= 0x46) return c - 0x37;
	if (c >= 0x61 && c <= 0x66) return c - 0x57;
	return -1;
}

/** The problem of one part of the target (`from` to `to`), or null. */
function partProblem(url: string, from: number, to: number): string | null {
	let plain = true;
	for (let i = from; i < to; i++) {
		const c = url.charCodeAt(i);
		if (c === 0x25 /* % */ || c < 0x21 || c > 0x7e) {
			plain = false;
			break;
		}
	}
	if (plain) return null;
	const bytes = Buffer.allocUnsafe(to - from);
	let length = 0;
	for (let i = from; i < to; i++) {
		const c = url.charCodeAt(i);
		if (c === 0x25) {
			const high = hexValue(url.charCodeAt(i + 1));
			const low = i + 2 < to ? hexValue(url.charCodeAt(i + 2)) : -1;
			if (high < 0 || low < 0)
				return "a malformed percent-escape (expected % and two hex digits)";
			bytes[length++] = high * 16 + low;
			i += 2;
		} else if (c > 0xff) {
			// Not a byte as Node hands the target over: text it could only have decoded itself.
			return "characters that are not valid UTF-8";
		} else {
			bytes[length++] = c;
		}
	}
	const decoded = bytes.subarray(0, length);
	if (decoded.includes(0)) return "a NUL character (%00)";
	if (!isUtf8(decoded)) return "bytes that are not valid UTF-8";
	return null;
}

/** Why a request target is refused (400 INVALID_TEXT), or null when it is fine. */
export function requestTargetProblem(url: string | undefined): InvalidTextError | null {
	if (url === undefined) return null;
	const query = url.indexOf("?");
	const pathEnd = query === -1 ? url.length : query;
	const inPath = partProblem(url, 0, pathEnd);
	if (inPath !== null) return new InvalidTextError("The request path", inPath);
	if (query === -1) return null;
	const inQuery = partProblem(url, query + 1, url.length);
	return inQuery !== null ? new InvalidTextError("The query string", inQuery) : null;
}
