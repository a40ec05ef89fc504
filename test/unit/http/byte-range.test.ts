import { chooseRange, etagMatches } from "../../../lib/http/byte-range";

describe("chooseRange", () => {
	it("sends the whole file without a Range header", () => {
		expect(chooseRange(undefined, 1000)).toEqual({ kind: "full" });
	});

	it("reads one range, a range to the end and a suffix", () => {
		expect(chooseRange("bytes=0-99", 1000)).toEqual({ kind: "partial", start: 0, end: 99 });
		expect(chooseRange("bytes=900-", 1000)).toEqual({ kind: "partial", start: 900, end: 999 });
		expect(chooseRange("bytes=-10", 1000)).toEqual({ kind: "partial", start: 990, end: 999 });
		expect(chooseRange("bytes=-5000", 1000)).toEqual({ kind: "partial", start: 0, end: 999 });
	});

	it("cuts a range that runs past the end at the last byte", () => {
		expect(chooseRange("bytes=500-5000", 1000)).toEqual({
			kind: "partial",
			start: 500,
			end: 999,
		});
	});

	it("answers unsatisfiable for a range that starts past the end", () => {
		expect(chooseRange("bytes=1000-", 1000)).toEqual({ kind: "unsatisfiable" });
		expect(chooseRange("bytes=-0", 1000)).toEqual({ kind: "unsatisfiable" });
		expect(chooseRange("bytes=0-0", 0)).toEqual({ kind: "unsatisfiable" });
	});

	it("ignores several ranges and ranges that do not parse: the whole file", () => {
		for (const header of ["bytes=0-1,5-6", "items=0-1", "bytes=5-2", "bytes=-", "bytes=a-b"])
			expect(chooseRange(header, 1000)).toEqual({ kind: "full" });
	});

	it("sends the whole file when If-Range names another version", () => {
		const etag = '"abc"';
		expect(chooseRange("bytes=0-9", 100, { header: '"old"', etag })).toEqual({ kind: "full" });
		expect(chooseRange("bytes=0-9", 100, { header: etag, etag })).toMatchObject({
			kind: "partial",
		});
	});
});

describe("etagMatches", () => {
	it("matches the tag, a weak form of it, one of a list, or *", () => {
		expect(etagMatches('"abc"', '"abc"')).toBe(true);
		expect(etagMatches('W/"abc"', '"abc"')).toBe(true);
		expect(etagMatches('"x", "abc"', '"abc"')).toBe(true);
		expect(etagMatches("*", '"abc"')).toBe(true);
		expect(etagMatches('"abcd"', '"abc"')).toBe(false);
		expect(etagMatches(undefined, '"abc"')).toBe(false);
	});
});
