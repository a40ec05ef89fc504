import { deflateSync, gzipSync } from "node:zlib";
import {
	InvalidInputError,
	InvalidTextError,
	JsonTooDeepError,
	RequestTooLargeError,
} from "../../../lib/errors";
import {
	DEFAULT_MAX_JSON_DEPTH,
	checkClientText,
	checkJsonText,
	parseClientJson,
	textProblem,
} from "../../../lib/json-policy";
import { jsonBodyParser } from "../../../lib/http/json-body";
import { Readable } from "node:stream";
import type { IncomingMessage, ServerResponse } from "node:http";

/** `depth` arrays inside each other: `[[[…]]]`. */
const arrays = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);
/** `depth` objects inside each other: `{"a":{"a":…{}}}`. */
const objects = (depth: number): string => '{"a":'.repeat(depth - 1) + "{}" + "}".repeat(depth - 1);

function refusal(run: () => unknown): {
	type?: string;
	code?: number;
	message?: string;
	data?: unknown;
} {
	try {
		run();
	} catch (err) {
		return err as { type: string };
	}
	throw new Error("not refused");
}

describe("the JSON decoding policy", () => {
	it("parses JSON at the depth limit, of arrays and of objects", () => {
		expect(DEFAULT_MAX_JSON_DEPTH).toBe(64);
		expect(parseClientJson(Buffer.from(arrays(64)))).toHaveLength(1);
		expect(parseClientJson(objects(64))).toHaveProperty("a");
		expect(parseClientJson(arrays(10), { maxDepth: 10 })).toBeDefined();
	});

	it("refuses one level more with 400 JSON_TOO_DEEP naming the limit and its setting", () => {
		for (const text of [arrays(65), objects(65), `{"tags":${objects(10_000)}}`]) {
			const err = refusal(() => parseClientJson(text));
			expect(err).toBeInstanceOf(JsonTooDeepError);
			expect(err).toMatchObject({
				code: 400,
				type: "JSON_TOO_DEEP",
				data: { limit: 64, setting: "MODELFLEET_MAX_JSON_DEPTH" },
			});
			expect(err.message).toContain("64 levels (MODELFLEET_MAX_JSON_DEPTH)");
		}
		expect(refusal(() => parseClientJson(arrays(11), { maxDepth: 10 }))).toMatchObject({
			data: { limit: 10 },
		});
	});

	it("counts nesting, not brackets: siblings and brackets inside strings do not add up", () => {
		const wide = `[${Array.from({ length: 5000 }, () => "[1,{}]").join(",")}]`;
		expect(parseClientJson(wide)).toHaveLength(5000);
		const quoted = JSON.stringify({ s: "[".repeat(500) + '\\"{{{' + "{".repeat(500) });
		expect(parseClientJson(quoted)).toHaveProperty("s");
	});

	it.each([
		['{"dataset":"\\u0000"}', "a NUL character"],
		['{"a":["x\\u0000y"]}', "a NUL character"],
		['{"\\u0000":1}', "a NUL character"],
		['{"s":"\\ud800"}', "a lone UTF-16 surrogate"],
		['{"s":"\\uDBFF x"}', "a lone UTF-16 surrogate"],
		['{"s":"\\ud800\\u0041"}', "a lone UTF-16 surrogate"],
		['{"s":"\\udc00"}', "a lone UTF-16 surrogate"],
	])("refuses %s with 400 INVALID_TEXT", (text, problem) => {
		const err = refusal(() => parseClientJson(text));
		expect(err).toBeInstanceOf(InvalidTextError);
		expect(err).toMatchObject({ code: 400, type: "INVALID_TEXT" });
		expect(err.message).toContain(problem);
	});

	it("takes escapes that only look like NUL or surrogates, and surrogate pairs", () => {
		expect(parseClientJson('{"s":"\\\\u0000"}')).toEqual({ s: "\\u0000" });
		expect(parseClientJson('{"s":"\\ud83d\\ude00"}')).toEqual({ s: "😀" });
		expect(parseClientJson('{"s":"é\\n\\"\\u00e9"}')).toEqual({ s: 'é\n"é' });
	});

	it("refuses bytes that are not UTF-8 with 400 INVALID_TEXT", () => {
		for (const bytes of [
			[0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d],
			[0xc3, 0x28],
		])
			expect(refusal(() => parseClientJson(Buffer.from(bytes)))).toBeInstanceOf(
				InvalidTextError,
			);
		// UTF-8 that encodes a surrogate (CESU) is not UTF-8 either.
		expect(
			refusal(() => parseClientJson(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))),
		).toBeInstanceOf(InvalidTextError);
	});

	it("answers text that is not JSON with 400 INVALID_INPUT, or the caller's error", () => {
		expect(refusal(() => parseClientJson("{oops"))).toBeInstanceOf(InvalidInputError);
		expect(refusal(() => parseClientJson('"unterminated'))).toBeInstanceOf(InvalidInputError);
		expect(
			refusal(() =>
				parseClientJson("[1,", { syntaxError: reason => new RangeError(reason) }),
			),
		).toBeInstanceOf(RangeError);
	});

	it("scans in linear time: a million numbers, a string of a million escapes", () => {
		const started = Date.now();
		checkJsonText(JSON.stringify({ s: '\\"'.repeat(2_000_000) }));
		checkJsonText("[" + "1,".repeat(1_000_000) + "1]");
		expect(Date.now() - started).toBeLessThan(2000);
	});

	it("checks decoded text for NUL and lone surrogates", () => {
		expect(textProblem("mlp")).toBeNull();
		expect(textProblem("a\u0000b")).toBe("a NUL character");
		expect(textProblem("a\ud800")).toBe("a lone UTF-16 surrogate");
		expect(textProblem("\ud83d\ude00")).toBeNull();
		expect(() => checkClientText("\udc00", "the file name")).toThrow(InvalidTextError);
	});
});

describe("jsonBodyParser (the REST routes' body parser)", () => {
	const parser = jsonBodyParser({
		limitBytes: 1024,
		limitSetting: "the test limit",
		maxDepth: 8,
		applies: () => true,
	});

	function parse(body: string | Buffer, headers: Record<string, string> = {}): Promise<unknown> {
		const req = Object.assign(Readable.from([Buffer.from(body)]), {
			headers: { "content-type": "application/json", ...headers },
		}) as unknown as IncomingMessage & { body?: unknown };
		return new Promise((resolve, reject) =>
			parser(req, {} as ServerResponse, err => (err ? reject(err) : resolve(req.body))),
		);
	}

	it("puts an object, an array or {} for an empty body into req.body", async () => {
		await expect(parse('{"a":1}')).resolves.toEqual({ a: 1 });
		await expect(parse("[1]")).resolves.toEqual([1]);
		await expect(parse("")).resolves.toEqual({});
	});

	it("inflates gzip and deflate bodies under the limit, counting inflated bytes (a bomb is 413)", async () => {
		await expect(
			parse(gzipSync('{"a":[1,2]}'), { "content-encoding": "gzip" }),
		).resolves.toEqual({
			a: [1, 2],
		});
		await expect(parse(deflateSync("[3]"), { "content-encoding": "deflate" })).resolves.toEqual(
			[3],
		);
		// 2,000 spaces compress to a few bytes but inflate past the 1 KiB limit.
		await expect(
			parse(gzipSync(`{"a":1}${" ".repeat(2000)}`), { "content-encoding": "gzip" }),
		).rejects.toBeInstanceOf(RequestTooLargeError);
		await expect(
			parse(Buffer.from("not gzip"), { "content-encoding": "gzip" }),
		).rejects.toMatchObject({
			code: 400,
			message: expect.stringContaining("not valid gzip"),
		});
	});

	it("refuses deep, NUL, non-UTF-8, non-object, over-size, brotli-compressed and non-UTF-8 charset bodies", async () => {
		await expect(parse(arrays(9))).rejects.toMatchObject({ code: 400, type: "JSON_TOO_DEEP" });
		await expect(parse('{"a":"\\u0000"}')).rejects.toMatchObject({ type: "INVALID_TEXT" });
		await expect(parse(Buffer.from([0x7b, 0xff, 0x7d]))).rejects.toMatchObject({
			type: "INVALID_TEXT",
		});
		await expect(parse('"text"')).rejects.toMatchObject({ code: 400, type: "INVALID_INPUT" });
		await expect(parse(" ".repeat(2000))).rejects.toBeInstanceOf(RequestTooLargeError);
		await expect(parse("{}", { "content-encoding": "br" })).rejects.toMatchObject({
			code: 415,
		});
		await expect(
			parse("{}", { "content-type": "application/json; charset=latin1" }),
		).rejects.toMatchObject({ code: 415 });
	});
});
