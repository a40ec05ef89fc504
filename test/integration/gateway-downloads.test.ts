/**
 * Downloading a version's files through the gateway: the list, the served model file and a file
 * kept beside it, byte for byte (decrypted from a store sealed at rest), ranges, ETags, and who
 * may download what.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { freePort } from "../support/node-process";
import { writeMlpModel } from "../unit/onnx/example-models";
import { seedPgliteDatabase } from "../support/pglite-template";

const OWNER_KEY = "mf_downloads-test-owner-key";
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("downloading a version's files", () => {
	let node: StartedNode;
	let base: string;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-downloads-"));
	const model = writeMlpModel();
	// A file kept beside the model, big enough to travel in several parts.
	const alternate = randomBytes(3 * 1024 * 1024 + 123);
	const keys: Record<string, string> = {};

	async function call(
		route: string,
		init: { method?: string; key?: string | null; body?: unknown; headers?: object } = {},
	): Promise<Response> {
		const key = init.key === undefined ? OWNER_KEY : init.key;
		const json = init.body !== undefined && !(init.body instanceof Uint8Array);
		return fetch(`${base}${route}`, {
			method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
			headers: {
				...(key !== null ? { authorization: `Bearer ${key}` } : {}),
				...(init.body !== undefined
					? { "content-type": json ? "application/json" : "application/octet-stream" }
					: {}),
				...init.headers,
			},
			body: json ? JSON.stringify(init.body) : (init.body as Uint8Array | undefined),
		});
	}

	const files = "/api/v1/models/m/versions/1.0.0/files";

	beforeAll(async () => {
		await seedPgliteDatabase(dataDir);
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(await freePort()),
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "warn",
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
				MODELFLEET_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
				MODELFLEET_PLAINTEXT_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "mf-plain-")),
				MODELFLEET_GPUS: "none",
			},
			() => undefined,
		);
		base = node.httpUrl!;
		expect(
			(
				await call("/api/v1/models", {
					body: { name: "m", task: "other", framework: "onnx" },
				})
			).status,
		).toBe(201);
		const uploaded = await call(
			"/api/v1/models/m/versions/upload?version=0.1.0&fileName=mlp.onnx",
			{
				body: model,
			},
		);
		expect(uploaded.status).toBe(201);
		const stored = (await (await call("/api/v1/artifacts", { body: alternate })).json()) as {
			sha256: string;
			size: number;
		};
		const first = (await uploaded.json()) as { schema: unknown };
		// A version whose details keep a second file, as a trained version keeps its TF.js export.
		const created = await call("/api/v1/models/m/versions", {
			body: {
				version: "1.0.0",
				format: "onnx",
				artifact: { sha256: sha256(model), size: model.length },
				schema: first.schema,
				details: {
					fileName: "mlp.onnx",
					alternates: [{ format: "tfjs", artifact: stored }],
				},
			},
		});
		expect(created.status).toBe(201);
		for (const role of ["viewer", "predictor"]) {
			const key = await call("/api/v1/keys", { body: { name: role, role } });
			keys[role] = ((await key.json()) as { key: string }).key;
		}
		const other = await call("/api/v1/tenants", { body: { name: "other" } });
		keys.other = ((await other.json()) as { ownerKey: { key: string } }).ownerKey.key;
	}, 60_000);

	afterAll(async () => {
		await node?.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("lists the version's files with their sizes and sha256", async () => {
		const response = await call(files);
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			model: "m",
			version: "1.0.0",
			ref: "m@1.0.0",
			files: [
				{
					path: "mlp.onnx",
					sha256: sha256(model),
					size: model.length,
					format: "onnx",
					kind: "model",
				},
				{
					path: "model-tfjs.tar",
					sha256: sha256(alternate),
					size: alternate.length,
					format: "tfjs",
					kind: "alternate",
				},
			],
		});
	});

	it("downloads each file byte for byte, its sha256 as ETag", async () => {
		for (const [name, bytes] of [
			["mlp.onnx", model],
			["model-tfjs.tar", alternate],
		] as const) {
			const response = await call(`${files}/${name}`);
			expect(response.status).toBe(200);
			expect(response.headers.get("etag")).toBe(`"${sha256(bytes)}"`);
			expect(response.headers.get("content-length")).toBe(String(bytes.length));
			expect(response.headers.get("accept-ranges")).toBe("bytes");
			const body = new Uint8Array(await response.arrayBuffer());
			expect(sha256(body)).toBe(sha256(bytes));
		}
	});

	it("answers a range with 206 and Content-Range, across parts too", async () => {
		const first = await call(`${files}/mlp.onnx`, { headers: { range: "bytes=0-99" } });
		expect(first.status).toBe(206);
		expect(first.headers.get("content-range")).toBe(`bytes 0-99/${model.length}`);
		const bytes = new Uint8Array(await first.arrayBuffer());
		expect(bytes.length).toBe(100);
		expect(Buffer.from(bytes).equals(model.subarray(0, 100))).toBe(true);

		const start = 1024 * 1024 - 10;
		const across = await call(`${files}/model-tfjs.tar`, {
			headers: { range: `bytes=${start}-${start + 2 * 1024 * 1024}` },
		});
		expect(across.status).toBe(206);
		const part = Buffer.from(await across.arrayBuffer());
		expect(part.equals(alternate.subarray(start, start + 2 * 1024 * 1024 + 1))).toBe(true);

		const tail = await call(`${files}/model-tfjs.tar`, { headers: { range: "bytes=-7" } });
		expect(Buffer.from(await tail.arrayBuffer()).equals(alternate.subarray(-7))).toBe(true);
	});

	it("answers 416 for a range past the end, and 304 for the ETag it has", async () => {
		const past = await call(`${files}/mlp.onnx`, {
			headers: { range: `bytes=${model.length}-` },
		});
		expect(past.status).toBe(416);
		expect(await past.json()).toMatchObject({
			type: "RANGE_NOT_SATISFIABLE",
			data: { size: model.length },
		});
		const cached = await call(`${files}/mlp.onnx`, {
			headers: { "if-none-match": `"${sha256(model)}"` },
		});
		expect(cached.status).toBe(304);
		expect(cached.headers.get("etag")).toBe(`"${sha256(model)}"`);
		expect((await cached.arrayBuffer()).byteLength).toBe(0);
	});

	it("lets any role with models.read download, and no one without a key", async () => {
		for (const role of ["viewer", "predictor"]) {
			const response = await call(`${files}/mlp.onnx`, { key: keys[role] });
			expect(response.status).toBe(200);
			expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(sha256(model));
		}
		expect((await call(`${files}/mlp.onnx`, { key: null })).status).toBe(401);
		expect((await call(files, { key: null })).status).toBe(401);
	});

	it("shows another tenant nothing, and says 404 for a file the version does not have", async () => {
		for (const route of [files, `${files}/mlp.onnx`]) {
			const response = await call(route, { key: keys.other });
			expect(response.status).toBe(404);
			expect(await response.json()).toMatchObject({ type: "NOT_FOUND" });
		}
		const missing = await call(`${files}/nothing.bin`);
		expect(missing.status).toBe(404);
		expect(((await missing.json()) as { message: string }).message).toContain(
			"m@1.0.0/nothing.bin",
		);
	});
});
