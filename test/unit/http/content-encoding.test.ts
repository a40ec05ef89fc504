/** Content-Encoding in, Accept-Encoding out: which codings, and the limit on inflated bytes. */
import { Readable } from "node:stream";
import * as zlib from "node:zlib";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import {
	bodyEncoding,
	compressAnswers,
	readEncodedBody,
	responseEncoding,
	writeBody,
} from "../../../lib/http/content-encoding";
import { RequestTooLargeError } from "../../../lib/errors";

const options = { limitBytes: 1024, limitSetting: "THE_LIMIT" };

/** A server on a free port, and a GET of it that accepts gzip: the answer's headers and bytes. */
async function serving(handler: http.RequestListener) {
	const server = http.createServer(handler);
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const port = (server.address() as AddressInfo).port;
	const get = (path: string) =>
		new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
			http.get({ port, path, headers: { "accept-encoding": "gzip" } }, res => {
				const chunks: Buffer[] = [];
				res.on("data", c => chunks.push(c as Buffer));
				res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
			}).on("error", reject);
		});
	return { get, close: () => server.close() };
}

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

	it("compresses whole answers after it, and leaves small ones, ranges and written heads alone", async () => {
		const big = Buffer.from("x".repeat(5000));
		const { get, close } = await serving((req, res) => {
			compressAnswers(req, res, () => {
				if (req.url === "/range") {
					res.statusCode = 206;
					res.setHeader("Content-Range", "bytes 0-4999/9999");
					res.end(big);
				} else if (req.url === "/head") {
					res.writeHead(200);
					res.end(big);
				} else res.end(req.url === "/small" ? "ok" : big);
			});
		});
		try {
			const whole = await get("/");
			expect(whole.headers["content-encoding"]).toBe("gzip");
			expect(zlib.gunzipSync(whole.body)).toEqual(big);
			for (const path of ["/small", "/range", "/head"]) {
				const answer = await get(path);
				expect(answer.headers["content-encoding"]).toBeUndefined();
				expect(answer.body.toString()).toBe(path === "/small" ? "ok" : big.toString());
			}
		} finally {
			close();
		}
	});

	it("writes a text body as the string it is, its Content-Length in bytes, and compresses a large one", async () => {
		const small = JSON.stringify({ label: "café ☕", data: [1, 2, 3] });
		const large = JSON.stringify({ data: Array.from({ length: 400 }, (_, i) => i) });
		const { get, close } = await serving((req, res) => {
			void writeBody(
				req,
				res,
				200,
				{ "Content-Type": "application/json" },
				req.url === "/large" ? large : small,
			);
		});
		try {
			const answer = await get("/small");
			expect(answer.headers["content-encoding"]).toBeUndefined();
			expect(answer.headers["content-length"]).toBe(String(Buffer.byteLength(small)));
			expect(answer.body.toString("utf8")).toBe(small);
			const compressed = await get("/large");
			expect(compressed.headers["content-encoding"]).toBe("gzip");
			expect(compressed.headers["content-length"]).toBe(String(compressed.body.length));
			expect(zlib.gunzipSync(compressed.body).toString("utf8")).toBe(large);
		} finally {
			close();
		}
	});
});
