/**
 * Issue 11's reproductions against a real all-in-one node over HTTP: bodies nested 10,000 deep
 * (which ended the process), NUL and invalid UTF-8 in paths, queries and JSON strings, `null`
 * where the inference envelope has optional fields, malformed list cursors and limits, and
 * truncated multipart uploads. Each answers 400 with a stable type, and the node keeps
 * answering afterwards.
 */
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";
import { apiClient, startTestNode, type TestNode } from "../support/test-node";

const KEY = "mf_hostile-owner";

/** `{"a":{"a":…}}` nested `depth` deep: ~60 KB at 10,000. */
function deepObject(depth = 10_000): string {
	return '{"a":'.repeat(depth - 1) + "{}" + "}".repeat(depth - 1);
}

/** A JSON body with `field` set to the deep object, written as text (JSON.stringify would overflow). */
function deepBody(fields: Record<string, unknown>, field: string): string {
	const text = JSON.stringify({ ...fields, [field]: "__DEEP__" });
	return text.replace('"__DEEP__"', deepObject());
}

const GOOD_INFER = {
	inputs: [{ name: "x", shape: [2, 4], datatype: "FP32", data: MLP_EXAMPLE.x }],
};

describe("hostile input against an all-in-one node", () => {
	let node: TestNode;
	let base: string;
	let developerKey: string;

	beforeAll(async () => {
		node = await startTestNode(KEY, { MODELFLEET_POOL_THREADS: "1" });
		base = node.node.httpUrl as string;
		const created = await node.request("/keys", {
			method: "POST",
			body: { name: "dev", role: "developer" },
		});
		expect(created.status).toBe(201);
		developerKey = (created.body as { key: string }).key;
		await node.request("/models", {
			method: "POST",
			body: { name: "mlp", task: "other", framework: "onnx" },
		});
		const uploaded = await fetch(`${node.api}/models/mlp/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: { authorization: `Bearer ${KEY}` },
			body: writeMlpModel(),
		});
		expect(uploaded.status).toBe(201);
	}, 60_000);

	afterAll(() => node?.stop());

	/** Sends a raw request; the status and the body (JSON when it is). */
	async function send(
		method: string,
		path: string,
		body?: string | Uint8Array,
		headers: Record<string, string> = {},
		key = KEY,
	): Promise<{ status: number; body: Record<string, unknown> }> {
		const response = await fetch(`${base}${path}`, {
			method,
			headers: {
				authorization: `Bearer ${key}`,
				...(body !== undefined ? { "content-type": "application/json" } : {}),
				...headers,
			},
			body,
		});
		const text = await response.text();
		let parsed: Record<string, unknown>;
		try {
			parsed = JSON.parse(text) as Record<string, unknown>;
		} catch {
			parsed = { text };
		}
		return { status: response.status, body: parsed };
	}

	/** The node still answers: a read and a prediction. */
	async function expectStillUp(): Promise<void> {
		expect(node.node.broker.started).toBe(true);
		expect((await node.request("/models/mlp")).status).toBe(200);
		const infer = await send("POST", "/v2/models/mlp/infer", JSON.stringify(GOOD_INFER));
		expect(infer.status).toBe(200);
	}

	describe("bodies nested 10,000 deep answer 400 JSON_TOO_DEEP", () => {
		it.each<[string, string, string, Record<string, unknown>, string]>([
			["PATCH", "/api/v1/models/mlp", "tags", {}, "tags"],
			["PATCH", "/api/v1/models/mlp", "description", {}, "description"],
			["PATCH", "/api/v1/models/mlp/versions/1.0.0", "metrics", {}, "metrics"],
			["POST", "/api/v1/models/mlp/versions/1.0.0/transition", "to", {}, "to"],
			["POST", "/api/v1/models/mlp/versions", "version", {}, "version"],
			["PATCH", "/api/v1/deployments/mlp", "traffic", {}, "traffic"],
			["POST", "/api/v1/deployments", "replicas", { model: "mlp" }, "replicas"],
			["POST", "/api/v1/training-jobs", "model", { dataset: "x" }, "model"],
			["POST", "/api/v1/models/mlp/predict", "parameters", GOOD_INFER, "parameters"],
			["POST", "/v2/models/mlp/infer", "parameters", GOOD_INFER, "parameters"],
			["POST", "/v2/repository/index", "ready", {}, "ready"],
		])("%s %s with a deep %s", async (method, path, field, fields) => {
			const reply = await send(method, path, deepBody(fields, field), {}, developerKey);
			expect(reply.status).toBe(400);
			if (path.startsWith("/v2"))
				expect(reply.body.error).toContain("64 levels (MODELFLEET_MAX_JSON_DEPTH)");
			else
				expect(reply.body).toMatchObject({
					type: "JSON_TOO_DEEP",
					data: { limit: 64, setting: "MODELFLEET_MAX_JSON_DEPTH" },
				});
			await expectStillUp();
		});

		it("in the binary extension's JSON header", async () => {
			const header = Buffer.from(deepBody({}, "parameters"));
			const reply = await send("POST", "/v2/models/mlp/infer", header, {
				"content-type": "application/octet-stream",
				"inference-header-content-length": String(header.length),
			});
			expect(reply.status).toBe(400);
			expect(reply.body.error).toContain("MODELFLEET_MAX_JSON_DEPTH");
		});

		it("in a batch-prediction NDJSON line, as that row's error", async () => {
			const reply = await send(
				"POST",
				"/api/v1/models/mlp/batch-predict?format=ndjson",
				`${JSON.stringify(MLP_EXAMPLE.x.slice(0, 4))}\n${deepObject()}\n`,
				{ "content-type": "application/x-ndjson" },
			);
			expect(reply.status).toBeLessThan(500);
			expect(JSON.stringify(reply.body)).toContain("MODELFLEET_MAX_JSON_DEPTH");
			await expectStillUp();
		});

		it("while JSON at the limit is read as before", async () => {
			const tags = JSON.parse(deepObject(62)) as unknown;
			const reply = await send(
				"PATCH",
				"/api/v1/models/mlp",
				JSON.stringify({ tags: { t: "x" }, extra: tags }),
			);
			expect(reply.status).toBeLessThan(500);
		});
	});

	describe("NUL and invalid UTF-8 answer 400 INVALID_TEXT", () => {
		it.each<[string, string, string | undefined]>([
			["GET", "/api/v1/models/a%00b", undefined],
			["POST", "/v2/models/mlp%00/infer", JSON.stringify(GOOD_INFER)],
			["GET", "/v2/models/mlp%00", undefined],
			["GET", "/api/v1/models?tag=%00", undefined],
			["GET", "/api/v1/models/%C3%28", undefined],
			["GET", "/api/v1/models?prefix=%FF", undefined],
			["GET", "/api/v1/models?prefix=%ZZ", undefined],
			["POST", "/api/v1/training-jobs", '{"dataset":"\\u0000","model":{}}'],
			["POST", "/api/v1/models", '{"name":"x","description":"\\ud800"}'],
			["PATCH", "/api/v1/models/mlp", '{"tags":{"\\u0000":"x"}}'],
			["POST", "/v2/models/mlp/infer", '{"id":"\\u0000","inputs":[]}'],
		])("%s %s %s", async (method, path, body) => {
			const reply = await send(method, path, body);
			expect(reply.status).toBe(400);
			if (path.startsWith("/v2")) expect(reply.body.error).toMatch(/NUL|UTF-8|escape/);
			else expect(reply.body).toMatchObject({ type: "INVALID_TEXT" });
			await expectStillUp();
		});

		it("in a body's bytes", async () => {
			const reply = await send(
				"POST",
				"/api/v1/models",
				Buffer.from([...Buffer.from('{"name":"'), 0xc3, 0x28, ...Buffer.from('"}')]),
			);
			expect(reply).toMatchObject({ status: 400, body: { type: "INVALID_TEXT" } });
		});
	});

	describe("null in the inference envelope", () => {
		it.each(["/v2/models/mlp/infer", "/api/v1/models/mlp/predict"])(
			"outputs, parameters and id null on %s are taken as left out",
			async path => {
				const reply = await send(
					"POST",
					path,
					JSON.stringify({ ...GOOD_INFER, outputs: null, parameters: null, id: null }),
				);
				expect(reply.status).toBe(200);
			},
		);

		it.each([
			{ inputs: null },
			{ inputs: [null] },
			{ inputs: [{ ...GOOD_INFER.inputs[0], data: null }] },
			{ inputs: [{ ...GOOD_INFER.inputs[0], shape: null }] },
			{ inputs: [{ ...GOOD_INFER.inputs[0], shape: [null, 4] }] },
			{ inputs: [{ ...GOOD_INFER.inputs[0], parameters: null }] },
			{ ...GOOD_INFER, outputs: [null] },
			{ ...GOOD_INFER, outputs: [{ name: "logits", parameters: null }] },
			{ instances: null },
		])("%j answers below 500", async body => {
			for (const path of ["/v2/models/mlp/infer", "/api/v1/models/mlp/predict"]) {
				const reply = await send("POST", path, JSON.stringify(body));
				expect(reply.status).toBeLessThan(500);
			}
		});
	});

	describe("list cursors and limits", () => {
		const LISTS = [
			"/api/v1/models",
			"/api/v1/models/mlp/versions",
			"/api/v1/datasets",
			"/api/v1/training-jobs",
			"/api/v1/deployments",
			"/api/v1/audit",
			"/api/v1/runs",
		];

		it.each(LISTS)("%s answers a malformed cursor with 400 INVALID_CURSOR", async list => {
			for (const cursor of [
				"abc",
				"1e400",
				"eyJ4IjoxfQ",
				"9223372036854776000",
				"_w",
				"x==",
			]) {
				const reply = await send("GET", `${list}?cursor=${cursor}`);
				expect({ cursor, status: reply.status, type: reply.body.type }).toEqual({
					cursor,
					status: 400,
					type: "INVALID_CURSOR",
				});
			}
			const nul = await send("GET", `${list}?cursor=%00`);
			expect(nul).toMatchObject({ status: 400, body: { type: "INVALID_TEXT" } });
		});

		it.each(LISTS)("%s answers a bad limit with 400", async list => {
			for (const limit of ["abc", "0", "-1", "1e400", "1.5", "501"]) {
				const reply = await send("GET", `${list}?limit=${limit}`);
				expect({ limit, status: reply.status }).toEqual({ limit, status: 400 });
			}
		});

		it("pages with the cursors it hands out", async () => {
			const first = await node.request("/audit?limit=1");
			const next = (first.body as { nextCursor: string }).nextCursor;
			expect(next).toEqual(expect.any(String));
			expect((await node.request(`/audit?limit=1&cursor=${next}`)).status).toBe(200);
			await node.request("/models", {
				method: "POST",
				body: { name: "second", task: "other", framework: "onnx" },
			});
			const models = await node.request("/models?limit=1");
			const cursor = (models.body as { nextCursor: string }).nextCursor;
			expect((await node.request(`/models?cursor=${cursor}`)).status).toBe(200);
		});

		it("keys and tenants, which do not page, answer a cursor below 500", async () => {
			for (const list of ["/api/v1/keys", "/api/v1/tenants"])
				expect((await send("GET", `${list}?cursor=abc&limit=abc`)).status).toBeLessThan(
					500,
				);
		});
	});

	describe("a truncated multipart upload answers 400", () => {
		const BODY =
			'--XX\r\nContent-Disposition: form-data; name="file"; filename="x.onnx"\r\n\r\nabc';

		it.each([
			"/api/v1/artifacts",
			"/api/v1/models/mlp/versions/upload?version=9.0.0",
			"/api/v1/datasets?name=truncated",
		])("on %s", async path => {
			const reply = await send("POST", path, BODY, {
				"content-type": "multipart/form-data; boundary=XX",
			});
			expect(reply.status).toBe(400);
			expect(reply.body.type).toBe("INVALID_INPUT");
			await expectStillUp();
		});

		it("with a file name holding NUL", async () => {
			const reply = await send(
				"POST",
				"/api/v1/models/mlp/versions/upload?version=9.0.1",
				'--XX\r\nContent-Disposition: form-data; name="file"; filename="a\u0000.onnx"\r\n\r\nabc\r\n--XX--\r\n',
				{ "content-type": "multipart/form-data; boundary=XX" },
			);
			expect(reply.status).toBe(400);
		});
	});

	it("a developer's key gets the same answers as the owner's (the role is no way around)", async () => {
		const developer = apiClient(node.api, developerKey);
		expect((await developer("/models?cursor=abc")).status).toBe(400);
		await expectStillUp();
	});
});
