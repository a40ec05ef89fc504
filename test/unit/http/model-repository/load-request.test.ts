import { InvalidInputError } from "../../../../lib/errors";
import {
	parseIndexRequest,
	parseLoadRequest,
	repositoryVersion,
} from "../../../../lib/http/model-repository/load-request";

const ONNX_CONFIG = JSON.stringify({ backend: "onnxruntime" });
const b64 = (text: string) => Buffer.from(text).toString("base64");

function refusal(body: unknown): string {
	try {
		parseLoadRequest(body, "m");
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		return (error as Error).message;
	}
	throw new Error("the request was accepted");
}

describe("parseLoadRequest", () => {
	it("takes an empty body, {} and empty parameters as a plain load", () => {
		for (const body of [undefined, null, {}, { parameters: {} }])
			expect(parseLoadRequest(body, "m")).toEqual({
				config: null,
				files: new Map(),
				version: null,
			});
	});

	it("groups file:<version>/<path> parameters by version, decoding base64", () => {
		const request = parseLoadRequest(
			{
				parameters: {
					config: JSON.stringify({ backend: "tfjs" }),
					"file:1/model.json": b64("{}"),
					"file:1/group1-shard1of1.bin": b64("weights"),
					"file:2.1.0/model.json": b64("{ }"),
				},
			},
			"m",
		);
		expect(request.config?.format).toBe("tfjs");
		expect([...request.files.keys()]).toEqual(["1.0.0", "2.1.0"]);
		expect(request.files.get("1.0.0")?.get("group1-shard1of1.bin")?.toString()).toBe("weights");
		expect(request.files.get("2.1.0")?.get("model.json")?.toString()).toBe("{ }");
	});

	it("refuses files without a config naming their backend, as Triton does", () => {
		expect(refusal({ parameters: { "file:1/model.onnx": b64("x") } })).toMatch(/config/);
		expect(refusal({ parameters: { config: "{}", "file:1/model.onnx": b64("x") } })).toMatch(
			/backend/,
		);
	});

	it("refuses file names that leave their version folder, and bytes that are not base64", () => {
		for (const key of ["file:model.onnx", "file:1/", "file:1/../x", "file:/x", "file:v1/x"])
			expect(refusal({ parameters: { config: ONNX_CONFIG, [key]: b64("x") } })).toMatch(
				/file:|version/,
			);
		for (const value of ["not base64!", "", 42, "abc"])
			expect(
				refusal({ parameters: { config: ONNX_CONFIG, "file:1/model.onnx": value } }),
			).toMatch(/base64/);
	});

	it("reads a version parameter as Triton's integer or a semantic version", () => {
		expect(parseLoadRequest({ parameters: { version: "2" } }, "m").version).toBe("2.0.0");
		expect(parseLoadRequest({ parameters: { version: 3 } }, "m").version).toBe("3.0.0");
		expect(parseLoadRequest({ parameters: { version: "1.2.0-rc.1" } }, "m").version).toBe(
			"1.2.0-rc.1",
		);
		expect(refusal({ parameters: { version: "latest!" } })).toMatch(/not a version/);
	});

	it("refuses a body or parameters that are not objects", () => {
		expect(refusal([1])).toMatch(/JSON object/);
		expect(refusal({ parameters: "config" })).toMatch(/parameters must be an object/);
	});
});

describe("repositoryVersion", () => {
	it("reads Triton's integer N as N.0.0", () => {
		expect(repositoryVersion("1", "v")).toBe("1.0.0");
		expect(repositoryVersion("007", "v")).toBe("7.0.0");
		expect(repositoryVersion("1.2.3", "v")).toBe("1.2.3");
		expect(() => repositoryVersion("v1", "v")).toThrow(InvalidInputError);
	});
});

describe("parseIndexRequest", () => {
	it("reads ready, false by default", () => {
		expect(parseIndexRequest(undefined)).toEqual({ ready: false });
		expect(parseIndexRequest({})).toEqual({ ready: false });
		expect(parseIndexRequest({ ready: true })).toEqual({ ready: true });
		expect(() => parseIndexRequest({ ready: "yes" })).toThrow(InvalidInputError);
		expect(() => parseIndexRequest("x")).toThrow(InvalidInputError);
	});
});
