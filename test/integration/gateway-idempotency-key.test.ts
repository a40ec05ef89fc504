/**
 * `Idempotency-Key` on the REST routes that create a version (docs/http-api.md, "Idempotent
 * creates"): a create, an import or an upload sent again with its key answers the version the
 * first made, marked `Idempotent-Replayed: true`; the key with another request is 409; keys are
 * per model; a header and a body that disagree, a key of a bad form, or one of the fleet's own
 * (`job:…`) are 400.
 */
import { writeMlpModel } from "../unit/onnx/example-models";
import { startTestNode, type TestNode } from "../support/test-node";

const KEY = "mf_idempotency-key-test-owner";
const SCHEMA = {
	inputs: [{ name: "x", datatype: "FP32", shape: [-1, 2] }],
	outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
};

interface Version {
	id: string;
	version: string;
	artifact: { sha256: string } | null;
}

describe("Idempotency-Key on version creates", () => {
	let testNode: TestNode;

	const create = (model: string, body: Record<string, unknown>, key?: string) =>
		testNode.request(`/models/${model}/versions`, {
			method: "POST",
			body,
			headers: key === undefined ? {} : { "idempotency-key": key },
		});

	async function upload(model: string, key: string, description: string) {
		const response = await fetch(
			`${testNode.api}/models/${model}/versions/upload?bump=minor&fileName=mlp.onnx&description=${description}`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${KEY}`,
					"content-type": "application/octet-stream",
					"idempotency-key": key,
				},
				body: writeMlpModel(),
			},
		);
		return {
			status: response.status,
			body: (await response.json()) as Version,
			replayed: response.headers.get("idempotent-replayed"),
		};
	}

	beforeAll(async () => {
		testNode = await startTestNode(KEY);
		for (const name of ["first", "second"]) {
			const created = await testNode.request("/models", {
				method: "POST",
				body: { name, task: "other", framework: "onnx" },
			});
			expect(created.status).toBe(201);
		}
	}, 60_000);

	afterAll(() => testNode?.stop());

	it("answers a create sent again with its key with the version the first made", async () => {
		const body = { bump: "minor", format: "onnx", schema: SCHEMA };
		const one = await create("first", body, "create-1");
		const two = await create("first", body, "create-1");
		expect(one.status).toBe(201);
		expect(two.status).toBe(201);
		expect((two.body as Version).id).toBe((one.body as Version).id);
		// Only the answer that made nothing says so.
		expect(one.headers.get("idempotent-replayed")).toBeNull();
		expect(two.headers.get("idempotent-replayed")).toBe("true");
		// Another key, and the same key on another model, are versions of their own.
		expect(((await create("first", body, "create-2")).body as Version).version).toBe("0.2.0");
		expect(((await create("second", body, "create-1")).body as Version).version).toBe("0.1.0");
		const list = await testNode.request("/models/first/versions");
		expect((list.body as { items: Version[] }).items.map(v => v.version)).toEqual([
			"0.2.0",
			"0.1.0",
		]);
	});

	it("refuses the key with another request with 409 naming the version it made", async () => {
		const refused = await create(
			"first",
			{ bump: "minor", format: "onnx", schema: SCHEMA, description: "another" },
			"create-1",
		);
		expect(refused.status).toBe(409);
		expect(refused.body).toMatchObject({
			type: "IDEMPOTENCY_CONFLICT",
			data: { key: "create-1", model: "first", version: "0.1.0" },
		});
	});

	it("answers an upload sent again with its key with the version the first made", async () => {
		const one = await upload("second", "upload-1", "mlp");
		const two = await upload("second", "upload-1", "mlp");
		expect(one.status).toBe(201);
		expect(two.status).toBe(201);
		expect(two.body).toMatchObject({ id: one.body.id, version: "0.2.0" });
		expect([one.replayed, two.replayed]).toEqual([null, "true"]);
		const other = await upload("second", "upload-1", "changed");
		expect(other.status).toBe(409);
		expect(other.body).toMatchObject({ type: "IDEMPOTENCY_CONFLICT" });
	});

	it("marks an import of a stored file sent again with its key as replayed", async () => {
		const stored = await fetch(`${testNode.api}/artifacts`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${KEY}`,
				"content-type": "application/octet-stream",
			},
			body: writeMlpModel(),
		});
		const { sha256 } = (await stored.json()) as { sha256: string };
		const body = { artifact: sha256, bump: "patch", fileName: "mlp.onnx" };
		const importOnce = () =>
			testNode.request("/models/first/versions/import", {
				method: "POST",
				body,
				headers: { "idempotency-key": "import-1" },
			});
		const one = await importOnce();
		const two = await importOnce();
		// The status of import's answer is the same both times (200 today, though documented 201).
		expect(one.status).toBeLessThan(300);
		expect(two.status).toBe(one.status);
		expect((two.body as Version).id).toBe((one.body as Version).id);
		expect(one.headers.get("idempotent-replayed")).toBeNull();
		expect(two.headers.get("idempotent-replayed")).toBe("true");
	});

	it("refuses a key of the fleet's own jobs (job:…) with 400 RESERVED_IDEMPOTENCY_KEY, as a header or a field", async () => {
		const body = { bump: "minor", format: "onnx", schema: SCHEMA };
		for (const refused of [
			await create("first", body, "job:0b6f3f5e"),
			await create("first", { ...body, idempotencyKey: "job:0b6f3f5e" }),
			(await upload("first", "job:0b6f3f5e", "mlp")) as { status: number; body: unknown },
		]) {
			expect(refused.status).toBe(400);
			expect(refused.body).toMatchObject({
				type: "RESERVED_IDEMPOTENCY_KEY",
				data: { field: "idempotencyKey", prefix: "job:" },
			});
		}
		// Nothing was made; a key that merely contains the prefix, or differs in case, is the client's.
		expect((await create("first", body, "upload-job:1")).status).toBe(201);
		expect((await create("first", body, "JOB:1")).status).toBe(201);
	});

	it("refuses a header and a body field that disagree, and a key of a bad form, with 400", async () => {
		const body = { bump: "minor", format: "onnx", schema: SCHEMA };
		const disagree = await create("first", { ...body, idempotencyKey: "a" }, "b");
		expect(disagree.status).toBe(400);
		expect(disagree.body).toMatchObject({
			type: "INVALID_INPUT",
			data: { field: "idempotencyKey" },
		});
		const tooLong = await create("first", body, "k".repeat(256));
		expect(tooLong.status).toBe(400);
		expect(tooLong.body).toMatchObject({ type: "VALIDATION_ERROR" });
	});

	it("documents the header on each route that creates a version", async () => {
		const document = (await (
			await fetch(testNode.api.replace(/\/v1$/, "/openapi.json"))
		).json()) as {
			paths: Record<
				string,
				{
					post: {
						parameters?: { name: string; in: string }[];
						responses: Record<number, { headers?: Record<string, unknown> }>;
					};
				}
			>;
		};
		for (const route of ["versions", "versions/import", "versions/upload"]) {
			const parameters = document.paths[`/api/v1/models/{model}/${route}`].post.parameters;
			expect(parameters).toContainEqual(
				expect.objectContaining({ name: "Idempotency-Key", in: "header" }),
			);
			// Sent as the header: not also a query parameter of the upload.
			expect(parameters?.filter(p => p.name === "idempotencyKey")).toEqual([]);
			expect(
				document.paths[`/api/v1/models/{model}/${route}`].post.responses[201].headers,
			).toHaveProperty("Idempotent-Replayed");
		}
	});
});
