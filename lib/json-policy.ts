/**
 * The one JSON decoding policy for what clients send (REST bodies, Open Inference Protocol
 * bodies and the binary extension's JSON header, batch-prediction and dataset NDJSON lines,
 * Triton model configs, model files' JSON): the bytes must be UTF-8; objects and arrays may nest
 * at most `maxDepth` levels; strings may hold no NUL (`\u0000`) and no lone UTF-16 surrogate.
 * Each is refused with a 400 before `JSON.parse` builds anything, so nothing deeper than the
 * limit reaches code that recurses (error writers, `structuredClone`, the transporter's CBOR).
 *
 * The check is one linear scan of the text: a regular expression jumps from one bracket or
 * quote to the next (V8 runs it as a tight native loop, so digits cost little), strings are
 * skipped with `indexOf`, and only `\u` escapes are looked at inside them. On a 64×64 FP32 body
 * it costs well under a quarter of `JSON.parse` itself (bench numbers in the commit message).
 * No library was taken: the JSON parsers that limit depth while parsing (e.g. a streaming
 * tokenizer) are several times slower than `JSON.parse`, which is not recursive in V8 and so
 * cannot overflow itself.
 */
import { isUtf8 } from "node:buffer";
import { InvalidInputError, InvalidTextError, JsonTooDeepError } from "./errors";

/** Default deepest nesting of objects and arrays: far above any request's shape, far below a stack's. */
export const DEFAULT_MAX_JSON_DEPTH = 64;
/**
 * The most MODELFLEET_MAX_JSON_DEPTH may be: what a request this deep costs the recursive code
 * after it (the transporter's CBOR, error writers) stays far below a default stack.
 */
export const MAX_JSON_DEPTH_SETTING = 1000;
/** The setting that holds the depth limit, named in refusals. */
export const JSON_DEPTH_SETTING = "MODELFLEET_MAX_JSON_DEPTH";

export interface JsonParseOptions {
	/** Deepest nesting allowed; default DEFAULT_MAX_JSON_DEPTH. */
	maxDepth?: number;
	/** What is parsed, as the start of a sentence: "The request body", "Line 3 of the body". */
	what?: string;
	/** What the client should send instead, ending the syntax error's sentence. */
	expected?: string;
	/** `data.where` of a syntax error; default "body". */
	where?: string;
	/**
	 * The error for text that is not JSON, given JSON.parse's reason (its first line, which may
	 * quote the text) and its error; default a 400 from the above.
	 */
	syntaxError?: (reason: string, error: SyntaxError) => Error;
}

/** One bracket or quote: what the depth scan stops at. */
const STRUCTURAL = /[[\]{}"]/g;

/** A `\uXXXX` escape's code unit, or -1 when the four characters are not hex digits. */
function escapedUnit(text: string, at: number): number {
	if (at + 4 > text.length) return -1;
	const hex = text.slice(at, at + 4);
	return /^[0-9a-fA-F]{4}$/.test(hex) ? parseInt(hex, 16) : -1;
}

/**
 * The problem of one string's escapes, from the backslash at `at`; returns where scanning goes
 * on, or a problem. Malformed escapes are left to JSON.parse to report.
 */
function escapeProblem(text: string, at: number): { next: number } | { problem: string } {
	if (text.charCodeAt(at + 1) !== 0x75 /* u */) return { next: at + 2 };
	const unit = escapedUnit(text, at + 2);
	if (unit === 0) return { problem: "a NUL character (\\u0000)" };
	if (unit >= 0xdc00 && unit <= 0xdfff)
		return { problem: `a lone UTF-16 surrogate (\\u${unit.toString(16)})` };
	if (unit >= 0xd800 && unit <= 0xdbff) {
		const low =
			text.charCodeAt(at + 6) === 0x5c && text.charCodeAt(at + 7) === 0x75
				? escapedUnit(text, at + 8)
				: -1;
		if (low < 0xdc00 || low > 0xdfff)
			return { problem: `a lone UTF-16 surrogate (\\u${unit.toString(16)})` };
		return { next: at + 12 };
	}
	return { next: at + 6 };
}

/**
 * Checks JSON text against the policy without parsing it: throws JsonTooDeepError past
 * `maxDepth`, InvalidTextError for a NUL or lone surrogate escaped in a string. Text that is not
 * JSON at all passes here and fails in JSON.parse.
 */
export function checkJsonText(
	text: string,
	maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
	what = "The request body",
): void {
	const structural = STRUCTURAL;
	structural.lastIndex = 0;
	let depth = 0;
	let match: RegExpExecArray | null;
	while ((match = structural.exec(text)) !== null) {
		const at = match.index;
		const c = text.charCodeAt(at);
		if (c === 0x22 /* " */) {
			// Skip the string: to the next quote that no backslash escapes, checking `\u` escapes.
			let from = at + 1;
			let quote = text.indexOf('"', from);
			for (;;) {
				if (quote === -1) return; // unterminated: JSON.parse says so
				const backslash = text.indexOf("\\", from);
				if (backslash === -1 || backslash > quote) break;
				const step = escapeProblem(text, backslash);
				if ("problem" in step)
					throw new InvalidTextError(`${what} (a JSON string)`, step.problem);
				from = step.next;
				if (quote < from) quote = text.indexOf('"', from);
			}
			structural.lastIndex = quote + 1;
		} else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
			if (++depth > maxDepth) throw new JsonTooDeepError(what, maxDepth, JSON_DEPTH_SETTING);
		} else {
			depth--;
		}
	}
}

/**
 * Parses what a client sent as JSON under the policy: 400 INVALID_TEXT for bytes that are not
 * UTF-8 or strings with NUL or a lone surrogate, 400 JSON_TOO_DEEP past the depth limit (both
 * before parsing), 400 INVALID_INPUT for text that is not JSON.
 */
export function parseClientJson(input: Buffer | string, options: JsonParseOptions = {}): unknown {
	const what = options.what ?? "The request body";
	let text: string;
	if (typeof input === "string") {
		text = input;
	} else {
		if (!isUtf8(input)) throw new InvalidTextError(what, "bytes that are not valid UTF-8");
		text = input.toString("utf8");
	}
	checkJsonText(text, options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH, what);
	try {
		return JSON.parse(text) as unknown;
	} catch (err) {
		const reason = (err as Error).message.split("\n")[0].slice(0, 160);
		if (options.syntaxError) throw options.syntaxError(reason, err as SyntaxError);
		throw new InvalidInputError(
			`${what} is not valid JSON (${reason}); ${options.expected ?? "send a JSON object."}`,
			{ where: options.where ?? "body" },
		);
	}
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What is wrong with a piece of decoded text a client sent (a path segment, a query value, a
 * form field, a file name) — a NUL or a lone surrogate — or null when it is fine.
 */
export function textProblem(value: string): string | null {
	if (value.includes("\u0000")) return "a NUL character";
	if (LONE_SURROGATE.test(value)) return "a lone UTF-16 surrogate";
	return null;
}

/** Throws InvalidTextError when `value` holds a NUL or a lone surrogate. */
export function checkClientText(value: string, where: string): void {
	const problem = textProblem(value);
	if (problem !== null) throw new InvalidTextError(where, problem);
}
