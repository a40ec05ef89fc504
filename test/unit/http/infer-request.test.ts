import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import {
	forwardedJson,
	parseForwardedRequest,
	readInferBody,
} from "../../../lib/http/infer-request";

const REQUEST = { id: "r", inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], data: [1, 2] }] };
const text = JSON.stringify(REQUEST);

function read(
	body: string | Buffer,
	forwardJsonUpTo: number | undefined,
	headers: { headerLength?: string; contentEncoding?: string } = {},
) {
	const bytes = typeof body === "string" ? Buffer.from(body) : body;
	return readInferBody(
		Readable.from([bytes]),
		{ contentLength: String(bytes.length), ...headers },
		1024 * 1024,
		64,
		forwardJsonUpTo,
	);
}

describe("readInferBody, forwarding JSON unparsed", () => {
	it("parses the body when not asked to forward", async () => {
		await expect(read(text, undefined)).resolves.toEqual(REQUEST);
	});

	it("forwards a small JSON body as its bytes, which parse to the same request", async () => {
		const forwarded = await read(text, 4096);
		const json = forwardedJson(forwarded);
		expect(json).not.toBeNull();
		expect(Buffer.from(json as Uint8Array).toString()).toBe(text);
		expect(parseForwardedRequest(json as Uint8Array, 64)).toEqual(REQUEST);
	});

	it("forwards a gzip body inflated", async () => {
		const forwarded = await read(gzipSync(text), 4096, { contentEncoding: "gzip" });
		expect(parseForwardedRequest(forwardedJson(forwarded) as Uint8Array)).toEqual(REQUEST);
	});

	it.each([
		["a body over the bound", { ...REQUEST, pad: "x".repeat(5000) }],
		["a routing key", { ...REQUEST, parameters: { routing_key: "k" } }],
		["a binary output", { ...REQUEST, parameters: { binary_data_output: true } }],
		["a model field", { ...REQUEST, model: "other" }],
		["a version field", { ...REQUEST, version: "9" }],
	])("parses a body with %s, which the gateway reads", async (_what, body) => {
		const request = await read(JSON.stringify(body), 4096);
		expect(forwardedJson(request)).toBeNull();
		expect(request).toEqual(body);
	});

	it("parses a binary-extension body", async () => {
		const header = Buffer.from(
			JSON.stringify({
				inputs: [
					{
						name: "x",
						datatype: "FP32",
						shape: [1, 1],
						parameters: { binary_data_size: 4 },
					},
				],
			}),
		);
		const body = Buffer.concat([header, Buffer.from(new Float32Array([3]).buffer)]);
		const request = await read(body, 4096, { headerLength: String(header.length) });
		expect(forwardedJson(request)).toBeNull();
	});

	it("refuses in parseForwardedRequest what readInferBody refuses", async () => {
		for (const bad of [
			"{x",
			"[1]",
			"null",
			"[".repeat(70) + "]".repeat(70),
			'{"a":"\\u0000"}',
		]) {
			const parsed = read(bad, undefined).then(
				() => null,
				(err: { type?: string }) => err.type,
			);
			const forwarded = (() => {
				try {
					parseForwardedRequest(Buffer.from(bad), 64);
					return null;
				} catch (err) {
					return (err as { type?: string }).type;
				}
			})();
			expect(forwarded).not.toBeNull();
			await expect(parsed).resolves.toBe(forwarded);
		}
		expect(() => parseForwardedRequest(Buffer.from([0xff, 0xfe]), 64)).toThrow(/UTF-8/);
	});

	it("takes only a bytes-valued json field, alone, as a forwarded request", () => {
		const bytes = Buffer.from(text);
		expect(forwardedJson({ json: bytes })).toBe(bytes);
		expect(forwardedJson({ json: new Uint8Array(bytes) })).not.toBeNull();
		expect(forwardedJson({ json: text })).toBeNull();
		expect(forwardedJson({ json: bytes, inputs: [] })).toBeNull();
		expect(forwardedJson(REQUEST)).toBeNull();
	});
});
