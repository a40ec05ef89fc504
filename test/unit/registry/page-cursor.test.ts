import { InvalidCursorError } from "../../../lib/errors";
import { MODEL_NAME_PATTERN } from "../../../lib/model-spec/model-name";
import {
	decodeNameCursor,
	decodeNamedSeqCursor,
	decodeSeqCursor,
	encodeCursor,
	sequenceNumber,
} from "../../../lib/registry/registry-scope";

/** Cursors no list hands out: not base64url, not canonical, not UTF-8, or another list's shape. */
const MALFORMED = [
	"",
	"abc",
	"1e400",
	"eyJ4IjoxfQ",
	"%00",
	"a b",
	"AA==",
	"_w",
	"x".repeat(600),
	encodeCursor("\u0000"),
	encodeCursor("a\u0000b"),
];

describe("page cursors", () => {
	it("decode what they encode", () => {
		expect(decodeNameCursor(encodeCursor("iris-v2"), MODEL_NAME_PATTERN)).toBe("iris-v2");
		expect(decodeSeqCursor(encodeCursor(41))).toBe(41);
		expect(decodeNamedSeqCursor(encodeCursor("iris\u00003"), MODEL_NAME_PATTERN)).toEqual({
			name: "iris",
			seq: 3,
		});
		expect(decodeNameCursor(undefined, MODEL_NAME_PATTERN)).toBeUndefined();
		expect(decodeSeqCursor(undefined)).toBeUndefined();
	});

	it.each(MALFORMED)("refuse %j with 400 INVALID_CURSOR, whichever list", cursor => {
		for (const decode of [
			() => decodeNameCursor(cursor, MODEL_NAME_PATTERN),
			() => decodeSeqCursor(cursor),
			() => decodeNamedSeqCursor(cursor, MODEL_NAME_PATTERN),
		]) {
			expect(decode).toThrow(InvalidCursorError);
		}
	});

	it("refuse another list's cursor", () => {
		expect(() => decodeSeqCursor(encodeCursor("iris"))).toThrow(InvalidCursorError);
		expect(() => decodeNameCursor(encodeCursor("{}"), MODEL_NAME_PATTERN)).toThrow(
			InvalidCursorError,
		);
		expect(() => decodeNamedSeqCursor(encodeCursor("iris"), MODEL_NAME_PATTERN)).toThrow(
			InvalidCursorError,
		);
	});

	it("refuse numbers a bigint or a double cannot hold exactly", () => {
		expect(sequenceNumber("123")).toBe(123);
		for (const text of ["9223372036854776000", "1e3", "-1", "1.5", "", " 1", "0x10"])
			expect(() => sequenceNumber(text)).toThrow(
				expect.objectContaining({ code: 400, type: "INVALID_CURSOR" }),
			);
	});
});
