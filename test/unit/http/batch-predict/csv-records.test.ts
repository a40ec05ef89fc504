import { InvalidInputError } from "../../../../lib/errors";
import { csvRecords } from "../../../../lib/http/batch-predict/csv-records";

async function records(
	chunks: (string | Uint8Array)[],
	maxRecordChars?: number,
): Promise<string[][]> {
	const out: string[][] = [];
	for await (const record of csvRecords(
		(async function* () {
			yield* chunks;
		})(),
		{ maxRecordChars },
	))
		out.push(record);
	return out;
}

/** Every way of cutting `text` in two: a record must not depend on where chunks end. */
async function expectAtEveryCut(text: string, expected: string[][]): Promise<void> {
	for (let cut = 0; cut <= text.length; cut++)
		expect({ cut, records: await records([text.slice(0, cut), text.slice(cut)]) }).toEqual({
			cut,
			records: expected,
		});
}

describe("csvRecords", () => {
	it("splits plain records on LF or CRLF and skips blank lines", async () => {
		await expectAtEveryCut("a,b\r\n1,2\n\n3,\r\n,4", [
			["a", "b"],
			["1", "2"],
			["3", ""],
			["", "4"],
		]);
	});

	it("reads quoted fields: delimiters, doubled quotes and line breaks inside", async () => {
		await expectAtEveryCut('x,y\n"a,b","say ""hi"""\n"line\nbreak",2\n""\n', [
			["x", "y"],
			["a,b", 'say "hi"'],
			["line\nbreak", "2"],
			[""],
		]);
	});

	it("keeps a quote inside an unquoted field as it is", async () => {
		expect(await records(['5" screen,1\n'])).toEqual([['5" screen', "1"]]);
	});

	it("decodes UTF-8 split across chunks and drops a byte order mark", async () => {
		const bytes = Buffer.from("\ufeffname\nünïcode\n", "utf8");
		expect(await records([bytes.subarray(0, 9), bytes.subarray(9)])).toEqual([
			["name"],
			["ünïcode"],
		]);
	});

	it("refuses a file that ends inside a quoted field", async () => {
		await expect(records(['a\n"open,1\n'])).rejects.toThrow(/closing quote/);
		await expect(records(['a\n"open,1\n'])).rejects.toBeInstanceOf(InvalidInputError);
	});

	it("refuses a record longer than the limit instead of holding it", async () => {
		await expect(records(["x".repeat(50), "y".repeat(50)], 64)).rejects.toThrow(
			/longer than 64 characters/,
		);
	});
});
