/** Content-Encoding in, Accept-Encoding out: which codings, and the limit on inflated bytes. */
import { Readable } from "node:stream";
import * as zlib from "node:zlib";
import {
	bodyEncoding,
	readEncodedBody,
	responseEncoding,
} from "../../../lib/http/content-encoding";
import { RequestTooLargeError } from "../../../lib/errors";

const options = { limitBytes: 1024, limitSetting: "THE_LIMIT" };

describe("content encoding", () => {
	it("reads Content-Encoding: gzip, x-gzip, deflate, identity; 415 for any other", () => {
		expect(bodyEncoding(undefined)).toBeNull();
		expect(bodyEncoding(" Identity ")).toBeNull();
		expect(bodyEncoding("GZIP")).toBe("gzip");
		expect(bodyEncoding("x-gzip")).toBe("gzip");
		expect(bodyEncoding("deflate")).toBe("deflate");
		for (const other of ["br", "gzip, deflate", "compress"])
			expect(() => bodyEncoding(other)).toThrow(expect.objectContaining({ code: 415 }));
	});

	it("chooses the answer's coding from Accept-Encoding and its q values", () => {
		expect(responseEncoding(undefined)).toBeNull();
		expect(responseEncoding("identity")).toBeNull();
		expect(responseEncoding("gzip, deflate, br")).toBe("gzip");
		expect(responseEncoding("deflate")).toBe("deflate");
		expect(responseEncoding("gzip;q=0, deflate;q=0.2")).toBe("deflate");
		expect(responseEncoding("*")).toBe("gzip");
		expect(responseEncoding("*;q=0")).toBeNull();
		expect(responseEncoding("br")).toBeNull();
	});

	it("inflates within the limit, and refuses a bomb by its inflated size, or by its declared size", async () => {
		const body = Buffer.from(JSON.stringify({ a: "x".repeat(500) }));
		await expect(
			readEncodedBody(Readable.from([zlib.gzipSync(body)]), "gzip", options),
		).resolves.toEqual(body);
		await expect(
			readEncodedBody(Readable.from([zlib.deflateSync(body)]), "deflate", options),
		).resolves.toEqual(body);
		const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 ** 2));
		expect(bomb.length).toBeLessThan(options.limitBytes * 16);
		const source = Readable.from([bomb]);
		await expect(readEncodedBody(source, "gzip", options)).rejects.toBeInstanceOf(
			RequestTooLargeError,
		);
		await expect(
			readEncodedBody(Readable.from([bomb]), "gzip", {
				...options,
				contentLength: String(bomb.length),
			}),
		).rejects.toMatchObject({ code: 413 });
	});

	it("answers 400 for data that is not in its encoding, and for a body cut short", async () => {
		await expect(
			readEncodedBody(Readable.from([Buffer.from("plain")]), "gzip", options),
		).rejects.toMatchObject({ code: 400, message: expect.stringContaining("not valid gzip") });
		const cut = zlib.gzipSync(Buffer.from("{}".repeat(100))).subarray(0, 10);
		await expect(readEncodedBody(Readable.from([cut]), "gzip", options)).rejects.toMatchObject({
			code: 400,
		});
	});
});
