/** The all-in-one node's HTTP surface, started in-process as `npm start` starts it. */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { freePort } from "../support/node-process";
import { waitFor } from "../support/wait";
import type { FleetNode } from "../../lib/fleet/node-inventory";
import { writeMlpModel } from "../unit/onnx/example-models";

const FIXTURES = path.join(__dirname, "..", "fixtures");

async function upload(
	url: string,
	body: Uint8Array,
	key = OWNER_KEY,
): Promise<{ status: number; body: unknown }> {
	const response = await fetch(url, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "application/octet-stream" },
		body,
	});
	return { status: response.status, body: await response.json() };
}

const OWNER_KEY = "mf_gateway-test-owner-key";

async function request(
	url: string,
	init: { method?: string; body?: unknown; key?: string | null } = {},
): Promise<{ status: number; body: unknown }> {
	const key = init.key === undefined ? OWNER_KEY : init.key;
	const response = await fetch(url, {
		method: init.method ?? "GET",
		headers: {
			...(key ? { authorization: `Bearer ${key}` } : {}),
			...(init.body !== undefined ? { "content-type": "application/json" } : {}),
		},
		body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
	});
	return { status: response.status, body: await response.json() };
}
const getJson = (url: string) => request(url);

describe("all-in-one node over HTTP", () => {
	let node: StartedNode;
	const printed: string[] = [];
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-gateway-"));

	beforeAll(async () => {
		const port = await freePort();
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(port),
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "warn",
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_STATUS_INTERVAL_MS: "200",
				MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
			},
			line => printed.push(line),
		);
	});

	afterAll(() => node.stop());

	it("prints what it runs: role, nodeID, transporter, services and its URL", () => {
		const banner = printed.join("\n");
		expect(banner).toContain("all-in-one node started");
		expect(banner).toContain(`nodeID       ${node.broker.nodeID}`);
		expect(banner).toContain("transporter  none (one process)");
		expect(banner).toContain(
			"services     agent, api, accounts, registry, artifacts, scheduler, predictor, trainer",
		);
		expect(banner).toContain("database     pglite");
		expect(banner).toContain(`http         ${node.httpUrl}`);
	});

	it("listens on the address HOST names, not on every interface", () => {
		const api = node.broker.getLocalService("api") as unknown as { server: net.Server };
		expect((api.server.address() as net.AddressInfo).address).toBe("127.0.0.1");
	});

	it("creates its data directory", () => {
		expect(fs.statSync(dataDir).isDirectory()).toBe(true);
	});

	it("answers /health/live and /health/ready with 200", async () => {
		expect(await getJson(`${node.httpUrl}/health/live`)).toEqual({
			status: 200,
			body: { status: "live", nodeID: node.broker.nodeID },
		});
		expect(await getJson(`${node.httpUrl}/health/ready`)).toEqual({
			status: 200,
			body: { ready: true, missing: [], nodeID: node.broker.nodeID },
		});
	});

	it("lists itself at /api/v1/nodes with its capacity and live status", async () => {
		const [self] = await waitFor(
			"a status for the node",
			async () => {
				const { body } = await getJson(`${node.httpUrl}/api/v1/nodes`);
				const list = body as FleetNode[];
				return list[0]?.status ? list : undefined;
			},
			3000,
		);
		expect(self).toMatchObject({
			nodeID: node.broker.nodeID,
			role: "all-in-one",
			available: true,
			services: [
				"accounts",
				"agent",
				"api",
				"artifacts",
				"events",
				"predictor",
				"registry",
				"scheduler",
				"trainer",
			],
			capacity: { cpus: os.availableParallelism(), gpus: [] },
		});
		expect(self.status?.memoryFreeBytes).toBeGreaterThan(0);
	});

	it("filters nodes by role and refuses an unknown role with 400 naming the field", async () => {
		expect((await getJson(`${node.httpUrl}/api/v1/nodes?role=worker`)).body).toEqual([]);
		const wrong = await getJson(`${node.httpUrl}/api/v1/nodes?role=toaster`);
		expect(wrong.status).toBe(400);
		expect(wrong.body).toMatchObject({ type: "VALIDATION_ERROR", code: 400 });
		expect(JSON.stringify(wrong.body)).toContain("role");
	});

	it("answers 401 without a key or with a wrong one, on every /api/v1 route", async () => {
		for (const key of [null, "mf_wrong"]) {
			const answer = await request(`${node.httpUrl}/api/v1/models`, { key });
			expect(answer.status).toBe(401);
			expect(answer.body).toMatchObject({ type: "UNAUTHENTICATED" });
		}
		const viaHeader = await fetch(`${node.httpUrl}/api/v1/tenant`, {
			headers: { "x-api-key": OWNER_KEY },
		});
		expect(viaHeader.status).toBe(200);
	});

	it("serves the registry over REST: create 201, read, conflict 409, lifecycle, aliases, audit", async () => {
		const base = `${node.httpUrl}/api/v1`;
		const created = await request(`${base}/models`, {
			method: "POST",
			body: {
				name: "iris",
				task: "classification",
				framework: "sklearn",
				tags: { team: "ml" },
			},
		});
		expect(created).toMatchObject({
			status: 201,
			body: { name: "iris", tags: { team: "ml" } },
		});
		expect(
			(
				await request(`${base}/models`, {
					method: "POST",
					body: { name: "iris", task: "other", framework: "onnx" },
				})
			).status,
		).toBe(409);
		expect((await request(`${base}/models?tag=team=ml`)).body).toMatchObject({
			items: [{ name: "iris" }],
			nextCursor: null,
		});

		const schema = {
			inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
			outputs: [{ name: "y", datatype: "FP32", shape: [-1, 3] }],
		};
		const version = await request(`${base}/models/iris/versions`, {
			method: "POST",
			body: { version: "1.0.0", format: "onnx", schema },
		});
		expect(version).toMatchObject({ status: 201, body: { ref: "iris@1.0.0", state: "Draft" } });
		const wrongMove = await request(`${base}/models/iris/versions/1.0.0/transition`, {
			method: "POST",
			body: { to: "Deployed" },
		});
		expect(wrongMove).toMatchObject({
			status: 409,
			body: { type: "INVALID_TRANSITION", data: { allowed: ["Training"] } },
		});
		expect(
			(
				await request(`${base}/models/iris/versions/1.0.0/transition`, {
					method: "POST",
					body: { to: "Training" },
				})
			).status,
		).toBe(200);
		expect(
			(
				await request(`${base}/models/iris/aliases/champion`, {
					method: "PUT",
					body: { version: "1.0.0" },
				})
			).status,
		).toBe(200);
		expect((await request(`${base}/models/iris@champion/versions/champion`)).status).toBe(200);
		expect((await request(`${base}/models/iris/versions/champion`)).body).toMatchObject({
			version: "1.0.0",
			state: "Training",
		});
		expect((await request(`${base}/models/nope/versions/1.0.0`)).status).toBe(404);
		const bad = await request(`${base}/models/iris/versions`, {
			method: "POST",
			body: { version: "1.0.1", format: "pickle", schema },
		});
		expect(bad).toMatchObject({ status: 400, body: { type: "VALIDATION_ERROR" } });

		const audit = await request(`${base}/audit?limit=3`);
		expect((audit.body as { items: { action: string }[] }).items.map(i => i.action)).toEqual([
			"aliases.set",
			"versions.transition",
			"versions.transition",
		]);
	});

	it("says where a created thing is, in the Location header of its 201", async () => {
		const response = await fetch(`${node.httpUrl}/api/v1/models`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "application/json" },
			body: JSON.stringify({ name: "located", task: "other", framework: "onnx" }),
		});
		expect(response.status).toBe(201);
		expect(response.headers.get("location")).toBe("/api/v1/models/located");
	});

	it("gives a new key only the role it was made with", async () => {
		const base = `${node.httpUrl}/api/v1`;
		const made = await request(`${base}/keys`, {
			method: "POST",
			body: { name: "reader", role: "viewer" },
		});
		expect(made.status).toBe(201);
		const viewerKey = (made.body as { key: string }).key;
		expect((await request(`${base}/models`, { key: viewerKey })).status).toBe(200);
		const refused = await request(`${base}/models`, {
			method: "POST",
			key: viewerKey,
			body: { name: "x", task: "other", framework: "onnx" },
		});
		expect(refused).toMatchObject({ status: 403, body: { type: "FORBIDDEN" } });
		const listed = (await request(`${base}/keys`)).body as { prefix: string; key?: string }[];
		expect(listed.every(k => k.key === undefined)).toBe(true);
	});

	it("imports uploaded model files as versions, with the schema read from the file", async () => {
		const base = `${node.httpUrl}/api/v1`;
		await request(`${base}/models`, {
			method: "POST",
			body: { name: "mlp", task: "classification", framework: "onnx" },
		});
		const onnx = await upload(
			`${base}/models/mlp/versions/upload?version=1.0.0&fileName=mlp.onnx`,
			writeMlpModel(),
		);
		expect(onnx).toMatchObject({
			status: 201,
			body: {
				ref: "mlp@1.0.0",
				format: "onnx",
				state: "Draft",
				schema: {
					inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
					outputs: [
						{ name: "logits", datatype: "FP32", shape: [-1, 2] },
						{ name: "probabilities", datatype: "FP32", shape: [-1, 2] },
					],
				},
				artifact: { size: writeMlpModel().length },
			},
		});

		await request(`${base}/models`, {
			method: "POST",
			body: { name: "boosted", task: "classification", framework: "xgboost" },
		});
		const xgb = await upload(
			`${base}/models/boosted/versions/upload?bump=minor&state=Trained`,
			fs.readFileSync(path.join(FIXTURES, "xgboost", "iris-multi-softprob.json")),
		);
		expect(xgb).toMatchObject({
			status: 201,
			body: {
				version: "0.1.0",
				format: "xgboost-json",
				state: "Trained",
				details: { objective: "multi:softprob", numClasses: 3 },
			},
		});
	});

	it("predicts over REST from Open Inference Protocol inputs and from tabular instances", async () => {
		const base = `${node.httpUrl}/api/v1`;
		const onnx = await request(`${base}/models/mlp/versions/1.0.0/predict`, {
			method: "POST",
			body: {
				id: "r1",
				inputs: [
					{
						name: "x",
						datatype: "FP32",
						shape: [2, 4],
						data: [
							[1, 2, 3, 4],
							[-1, 0, 1, 0],
						],
					},
				],
				outputs: [{ name: "logits" }],
			},
		});
		expect(onnx).toMatchObject({
			status: 200,
			body: {
				model_name: "mlp",
				model_version: "1.0.0",
				id: "r1",
				parameters: { execution_provider: "cpu", pipeline_steps: [] },
				outputs: [
					{ name: "logits", datatype: "FP32", shape: [2, 2], data: [0.75, 4, -0.25, 2] },
				],
			},
		});
		const tabular = await request(`${base}/models/boosted/predict`, {
			method: "POST",
			body: {
				instances: [
					{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
				],
			},
		});
		expect(tabular.status).toBe(200);
		const [probabilities] = (tabular.body as { outputs: { shape: number[]; data: number[] }[] })
			.outputs;
		expect(probabilities.shape).toEqual([1, 3]);
		expect(probabilities.data[0]).toBeCloseTo(0.9531188, 6);
		const bad = await request(`${base}/models/mlp/versions/1.0.0/predict`, {
			method: "POST",
			body: {
				inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, "three", 4] }],
			},
		});
		expect(bad).toMatchObject({ status: 400, body: { type: "INVALID_INPUT" } });
	});

	it("refuses pickles, corrupt files and disagreeing schemas with 400 and registers nothing", async () => {
		const base = `${node.httpUrl}/api/v1`;
		const pickle = await upload(
			`${base}/models/mlp/versions/upload?version=9.0.0&fileName=model.pkl`,
			fs.readFileSync(path.join(FIXTURES, "pickle", "dict-protocol4.pkl")),
		);
		expect(pickle).toMatchObject({ status: 400, body: { type: "UNSAFE_MODEL_FORMAT" } });
		expect((pickle.body as { message: string }).message).toMatch(/arbitrary code.*ONNX/s);

		const truncated = await upload(
			`${base}/models/mlp/versions/upload?version=9.0.0&format=onnx`,
			writeMlpModel().slice(0, 40),
		);
		expect(truncated).toMatchObject({ status: 400, body: { type: "INVALID_MODEL_FILE" } });

		const stored = await upload(`${base}/artifacts`, writeMlpModel());
		expect(stored).toMatchObject({ status: 200, body: { created: false } });
		const mismatch = await request(`${base}/models/mlp/versions/import`, {
			method: "POST",
			body: {
				artifact: (stored.body as { sha256: string }).sha256,
				version: "9.0.0",
				schema: {
					inputs: [{ name: "x", datatype: "FP32", shape: [-1, 5] }],
					outputs: [
						{ name: "logits", datatype: "FP32", shape: [-1, 2] },
						{ name: "probabilities", datatype: "FP32", shape: [-1, 2] },
					],
				},
			},
		});
		expect(mismatch).toMatchObject({ status: 400, body: { type: "SCHEMA_MISMATCH" } });
		expect((mismatch.body as { message: string }).message).toContain("inputs[0].shape[1]");

		const versions = (await request(`${base}/models/mlp/versions`)).body as {
			items: { version: string }[];
		};
		expect(versions.items.map(v => v.version)).toEqual(["1.0.0"]);
	});

	it("answers 404 for a route it does not have", async () => {
		expect((await fetch(`${node.httpUrl}/api/v1/nothing-here`)).status).toBe(404);
	});
});

describe("a gateway with no control node in reach", () => {
	it("is live but not ready, and says which service is missing", async () => {
		const port = await freePort();
		const gateway = await startNode(
			"gateway",
			{
				HOST: "127.0.0.1",
				PORT: String(port),
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "mf-gw-")),
			},
			() => undefined,
		);
		try {
			expect((await getJson(`${gateway.httpUrl}/health/live`)).status).toBe(200);
			expect(await getJson(`${gateway.httpUrl}/health/ready`)).toEqual({
				status: 503,
				body: {
					ready: false,
					missing: ["accounts", "registry", "artifacts", "scheduler", "predictor"],
					nodeID: gateway.broker.nodeID,
				},
			});
		} finally {
			await gateway.stop();
		}
	});
});
