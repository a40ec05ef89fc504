import { PassThrough } from "node:stream";
import { readRequestBody } from "../../../lib/http/request-body";

function streamOf(...chunks: string[]): PassThrough {
	const stream = new PassThrough();
	setImmediate(() => {
		for (const chunk of chunks) stream.write(Buffer.from(chunk));
		stream.end();
	});
	return stream;
}

const LIMIT = { limitBytes: 10, limitSetting: "MODELFLEET_MAX_BODY_BYTES" };

describe("readRequestBody", () => {
	it("joins the chunks, with or without a Content-Length", async () => {
		expect((await readRequestBody(streamOf("abc", "def"), LIMIT)).toString()).toBe("abcdef");
		const sized = await readRequestBody(streamOf("abc", "def"), {
			...LIMIT,
			contentLength: "6",
		});
		expect(sized.toString()).toBe("abcdef");
	});

	it("places the body so that the byte at alignAt is 8-byte aligned", async () => {
		for (const contentLength of ["7", undefined]) {
			const body = await readRequestBody(streamOf("abcdefg"), {
				...LIMIT,
				contentLength,
				alignAt: 3,
			});
			expect((body.byteOffset + 3) % 8).toBe(0);
			expect(body.toString()).toBe("abcdefg");
		}
	});

	it("hands a body that came in one chunk over as that chunk, without a copy, when no alignment is asked", async () => {
		const chunk = Buffer.from('{"inputs":[]}');
		const stream = new PassThrough();
		setImmediate(() => stream.end(chunk));
		const body = await readRequestBody(stream, {
			limitBytes: 100,
			limitSetting: "MODELFLEET_MAX_BODY_BYTES",
			contentLength: String(chunk.length),
		});
		expect(body.buffer).toBe(chunk.buffer);
		expect(body.toString()).toBe('{"inputs":[]}');
	});

	it("answers 400 for a body longer than its Content-Length, aligned or not", async () => {
		for (const alignAt of [0, undefined]) {
			await expect(
				readRequestBody(streamOf("abc", "def"), { ...LIMIT, contentLength: "4", alignAt }),
			).rejects.toMatchObject({ code: 400, message: expect.stringContaining("longer than") });
		}
	});

	it("answers 413 naming the setting for a declared length over the limit, before reading", async () => {
		const stream = new PassThrough();
		await expect(
			readRequestBody(stream, { ...LIMIT, contentLength: "11" }),
		).rejects.toMatchObject({
			code: 413,
			type: "REQUEST_TOO_LARGE",
			message: expect.stringContaining("MODELFLEET_MAX_BODY_BYTES"),
		});
	});

	it("answers 413 once a body without a length passes the limit, and drains the rest", async () => {
		const stream = streamOf("123456", "789012", "345");
		await expect(readRequestBody(stream, LIMIT)).rejects.toMatchObject({ code: 413 });
		if (!stream.readableEnded) await new Promise(resolve => stream.once("end", resolve));
		expect(stream.readableEnded).toBe(true);
	});

	it("answers 400 when the body ends before its Content-Length", async () => {
		await expect(
			readRequestBody(streamOf("abc"), { ...LIMIT, contentLength: "6" }),
		).rejects.toMatchObject({ code: 400, message: expect.stringContaining("3 of its 6") });
	});
});
