/**
 * Requests far over the NATS server's default 1 MiB payload limit, through a fleet of real
 * processes (gateway, control, worker) over the real NATS server: 8 MB and 48 MB binary infers
 * and a 3 MB JSON infer answer 200 with exactly the outputs an all-in-one node gives, a body over
 * MODELFLEET_MAX_BODY_BYTES answers 413 as on all-in-one, and a 200 MB model file is deployed on
 * a worker and serves. Each request goes through two gateways of the fleet: one whose calls
 * travel over direct links (the default), one with links off whose calls cross the NATS server
 * in chunks; their link metrics show which way each went.
 */
import { randomUUID } from "node:crypto";
import { writeOnnxModel, type OnnxModelSpec } from "../../lib/onnx/onnx-writer";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { apiClient, startTestNode, type TestNode } from "../support/test-node";
import { freePort } from "../support/node-process";
import { sampleSum } from "../support/promtool";
import { waitFor } from "../support/wait";
import { deployAndWait, publishModel, waitForWorkers } from "../support/fleet-api";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_large-${randomUUID()}`;
const WIDTH = 65_536;

/** y = x, FP32 [n, 65536]: the answer is as large as the request. */
const WIDE_SPEC: OnnxModelSpec = {
	graph: {
		name: "wide",
		nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"] }],
		inputs: [{ name: "x", datatype: "FP32", shape: ["n", WIDTH] }],
		outputs: [{ name: "y", datatype: "FP32", shape: ["n", WIDTH] }],
	},
};

/** y = x + sum(W), with W 50 M floats (a 200 MB file) summing to 1. */
function heavyModel(): Uint8Array {
	const weights = new Float32Array(50_000_000);
	weights[0] = 1;
	return writeOnnxModel({
		graph: {
			name: "heavy",
			nodes: [
				{ opType: "ReduceSum", inputs: ["W"], outputs: ["s"] },
				{ opType: "Add", inputs: ["x", "s"], outputs: ["y"] },
			],
			initializers: [{ name: "W", dims: [50_000_000], data: weights }],
			inputs: [{ name: "x", datatype: "FP32", shape: ["n", 4] }],
			outputs: [{ name: "y", datatype: "FP32", shape: ["n", 4] }],
		},
	});
}

/** A binary infer request of `rows` rows of the wide model (values that differ per element). */
function wideRequest(rows: number): { body: Buffer; headerLength: number; tensor: Buffer } {
	const values = new Float32Array(rows * WIDTH);
	for (let i = 0; i < values.length; i++) values[i] = (i % 9973) / 7 - 500;
	const tensor = Buffer.from(values.buffer);
	const header = Buffer.from(
		JSON.stringify({
			inputs: [
				{
					name: "x",
					shape: [rows, WIDTH],
					datatype: "FP32",
					parameters: { binary_data_size: tensor.length },
				},
			],
			parameters: { binary_data_output: true },
		}),
	);
	return { body: Buffer.concat([header, tensor]), headerLength: header.length, tensor };
}

/** The binary output bytes of a binary infer answer. */
async function binaryOutput(response: Response): Promise<Buffer> {
	const body = Buffer.from(await response.arrayBuffer());
	const headerLength = Number(response.headers.get("inference-header-content-length"));
	const header = JSON.parse(body.subarray(0, headerLength).toString("utf8")) as {
		outputs: Array<{ parameters: { binary_data_size: number } }>;
	};
	return body.subarray(
		headerLength,
		headerLength + header.outputs[0].parameters.binary_data_size,
	);
}

describeWithServices(["nats", "postgres"], "large requests across a fleet", () => {
	// Moleculer's default heartbeat: moving hundreds of megabytes keeps nodes busy for seconds,
	// and the cluster tests' 3 s timeout would take a busy node for a lost one on a loaded machine.
	const cluster = new FleetProcesses("large", {
		...FAST_LOOPS,
		MODELFLEET_HEARTBEAT_INTERVAL_S: "5",
		MODELFLEET_HEARTBEAT_TIMEOUT_S: "15",
	});
	let database: { url: string; drop(): Promise<void> };
	let base: string;
	/** A second gateway, with direct links off: its calls cross the NATS server in chunks. */
	let natsBase: string;
	/** Each gateway's health port, which serves its metrics. */
	const healthPorts = { links: 0, nats: 0 };
	let single: TestNode;
	/** The all-in-one node's base URL. */
	const singleUrl = (): string => single.node.httpUrl ?? "";

	function infer(
		url: string,
		model: string,
		body: Buffer | string,
		headerLength?: number,
	): Promise<Response> {
		return fetch(`${url}/v2/models/${model}/infer`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${OWNER_KEY}`,
				"content-type":
					headerLength === undefined ? "application/json" : "application/octet-stream",
				...(headerLength === undefined
					? {}
					: { "inference-header-content-length": String(headerLength) }),
			},
			body,
		});
	}

	/** Bytes a gateway has sent over direct links so far. */
	async function linkBytesSent(healthPort: number): Promise<number> {
		const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
		return sampleSum(text, "modelfleet_direct_link_bytes_total", { direction: "sent" });
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		healthPorts.links = await freePort();
		healthPorts.nats = await freePort();
		base = await cluster.startBasicFleet({
			ownerKey: OWNER_KEY,
			databaseUrl: database.url,
			workerEnv: { MODELFLEET_MEMORY: "8GiB" },
			nodeEnv: { gateway: { MODELFLEET_HEALTH_PORT: String(healthPorts.links) } },
		});
		const natsPort = await freePort();
		cluster.start("gateway-nats", "gateway", {
			HOST: "127.0.0.1",
			PORT: String(natsPort),
			MODELFLEET_HEALTH_PORT: String(healthPorts.nats),
			MODELFLEET_DIRECT_LINKS: "off",
		});
		natsBase = `http://127.0.0.1:${natsPort}`;
		single = await startTestNode(OWNER_KEY, { MODELFLEET_POOL_THREADS: "1" });
		await waitForWorkers(`${base}/api/v1`, OWNER_KEY, ["worker"]).catch(cluster.failWithLogs);
		await waitFor(
			"the second gateway",
			async () =>
				(await fetch(`${natsBase}/health/ready`)).status === 200 ? true : undefined,
			30_000,
		).catch(cluster.failWithLogs);
		for (const api of [`${base}/api/v1`, single.api]) {
			await publishModel(api, OWNER_KEY, "wide", writeOnnxModel(WIDE_SPEC), {
				task: "other",
			});
			await publishModel(api, OWNER_KEY, "mlp", writeMlpModel(), { task: "other" });
		}
		// The first call to a node opens the link to it and travels over NATS meanwhile: open the
		// gateway's link to the worker before the requests whose way is checked.
		const small = JSON.stringify({
			inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }],
		});
		for (let i = 0; i < 3; i++) {
			expect((await infer(base, "mlp", small)).status).toBe(200);
			await new Promise(resolve => setTimeout(resolve, 100));
		}
	}, 120_000);

	afterAll(async () => {
		await single?.stop();
		await cluster.killAll();
		await database?.drop();
	});

	/**
	 * Sends `body` through a gateway and checks how it crossed the fleet: over direct links
	 * (their bytes grew by over 1 MiB) or, links off, not over them at all.
	 */
	async function inferThrough(
		way: "links" | "nats",
		model: string,
		body: Buffer | string,
		headerLength?: number,
	): Promise<Response> {
		const before = await linkBytesSent(healthPorts[way]);
		const response = await infer(way === "links" ? base : natsBase, model, body, headerLength);
		const sent = (await linkBytesSent(healthPorts[way])) - before;
		// Over the NATS server's 1 MiB limit, so it could not have crossed in one NATS message.
		if (way === "links") expect(sent).toBeGreaterThan(1024 * 1024);
		else expect(sent).toBe(0);
		return response;
	}

	describe.each([
		["over direct links", "links"],
		["over NATS in chunks (links off)", "nats"],
	] as const)("%s", (_label, way) => {
		it.each([
			["8 MB", 32],
			["48 MB", 183],
		])(
			"answers a %s binary infer with the all-in-one node's outputs",
			async (_size, rows) => {
				const { body, headerLength, tensor } = wideRequest(rows);
				expect(body.length).toBeGreaterThan(rows * WIDTH * 4);
				const [fleet, local] = await Promise.all([
					inferThrough(way, "wide", body, headerLength),
					infer(singleUrl(), "wide", body, headerLength),
				]);
				if (fleet.status !== 200)
					throw new Error(`${fleet.status} ${await fleet.text()}\n${cluster.logs()}`);
				expect(local.status).toBe(200);
				const [fleetOut, localOut] = await Promise.all([
					binaryOutput(fleet),
					binaryOutput(local),
				]);
				expect(fleetOut.length).toBe(tensor.length);
				expect(fleetOut.equals(localOut)).toBe(true);
				expect(fleetOut.equals(tensor)).toBe(true);
			},
			60_000,
		);

		it("answers a 3 MB JSON infer with the all-in-one node's outputs", async () => {
			const rows = 60_000;
			const data = Array.from(
				{ length: rows * 4 },
				(_, i) => ((i * 7919) % 10007) / 1000 - 5,
			);
			const body = JSON.stringify({
				id: "big-json",
				inputs: [{ name: "x", shape: [rows, 4], datatype: "FP32", data }],
			});
			expect(body.length).toBeGreaterThan(3_000_000);
			const [fleet, local] = await Promise.all([
				inferThrough(way, "mlp", body),
				infer(singleUrl(), "mlp", body),
			]);
			expect(fleet.status).toBe(200);
			expect(local.status).toBe(200);
			const [fleetJson, localJson] = await Promise.all([fleet.json(), local.json()]);
			expect((fleetJson as { outputs: unknown[] }).outputs).toEqual(
				(localJson as { outputs: unknown[] }).outputs,
			);
		}, 60_000);
	});

	it("refuses a body over MODELFLEET_MAX_BODY_BYTES with 413, as all-in-one does", async () => {
		const { body, headerLength } = wideRequest(267); // 70 MB
		expect(body.length).toBeGreaterThan(64 * 1024 ** 2);
		const response = await infer(base, "wide", body, headerLength);
		expect(response.status).toBe(413);
		expect(await response.json()).toMatchObject({
			error: expect.stringContaining("MODELFLEET_MAX_BODY_BYTES"),
		});
	}, 60_000);

	it("deploys a 200 MB model file on a worker, which serves and explains it", async () => {
		const api = `${base}/api/v1`;
		const model = heavyModel();
		expect(model.length).toBeGreaterThan(200_000_000);
		await publishModel(api, OWNER_KEY, "heavy", model, { task: "other" });
		await deployAndWait(api, OWNER_KEY, "heavy", { timeoutMs: 90_000 }).catch(
			cluster.failWithLogs,
		);
		const response = await infer(
			base,
			"heavy",
			JSON.stringify({
				inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }],
			}),
		);
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({
			outputs: [{ name: "y", data: [2, 3, 4, 5] }],
		});

		// Explained on the worker that holds the deployed replica, over NATS: y₀ = x₀ + 1 against a
		// zero background gives x₀ to feature 0 and nothing to the others.
		const explained = await apiClient(api, OWNER_KEY)("/models/heavy/explain", {
			method: "POST",
			body: { instances: [[1, 2, 3, 4]], background: [[0, 0, 0, 0]], output: 0 },
		});
		expect(explained.status).toBe(200);
		const [row] = (
			explained.body as {
				explanations: Array<{
					baseValue: number;
					output: number;
					contributions: Record<string, number>;
				}>;
			}
		).explanations;
		expect(row.baseValue).toBeCloseTo(1, 5);
		expect(row.output).toBeCloseTo(2, 5);
		const values = Object.values(row.contributions);
		expect(values[0]).toBeCloseTo(1, 5);
		for (const v of values.slice(1)) expect(v).toBeCloseTo(0, 5);
	}, 150_000);
});
