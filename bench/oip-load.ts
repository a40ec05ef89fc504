/**
 * Open Inference Protocol load over real HTTP on loopback, with autocannon: the all-in-one
 * gateway vs a hand-rolled node:http + onnxruntime-node server (support/handrolled-server.ts),
 * and the same requests through a gateway, a control node and a worker over NATS. Digits-size
 * MLP (64→128→10); batch 1 at 16 and 64 connections, batch 64 at 16 connections; JSON, and our
 * binary tensor extension.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { MLP_FEATURES, writeBenchMlp } from "./models/mlp-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { fixed } from "./support/stats";

const ROOT = path.join(__dirname, "..");
const KEY = "mf_bench-oip-load-key";
const WARMUP_S = 2;
const DURATION_S = Number(process.env.BENCH_OIP_DURATION_S ?? 8);
/** BENCH_OIP_ONLY=hand-rolled,all-in-one,fleet runs only those targets (default all three). */
const ONLY = new Set((process.env.BENCH_OIP_ONLY ?? "hand-rolled,all-in-one,fleet").split(","));

interface Scenario {
	name: string;
	rows: number;
	connections: number;
	binary: boolean;
}

const SCENARIOS: readonly Scenario[] = [
	{ name: "batch 1, JSON", rows: 1, connections: 16, binary: false },
	{ name: "batch 1, JSON", rows: 1, connections: 64, binary: false },
	{ name: "batch 64, JSON", rows: 64, connections: 16, binary: false },
	{ name: "batch 1, binary", rows: 1, connections: 16, binary: true },
	{ name: "batch 64, binary", rows: 64, connections: 16, binary: true },
];

interface Measured {
	target: string;
	scenario: Scenario;
	reqPerS: number;
	p50: number;
	p99: number;
	errors: number;
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

function startProcess(args: string[], env: Record<string, string>): ChildProcess {
	const child = spawn(
		process.execPath,
		["--require", path.join(ROOT, "scripts", "ts-register.js"), ...args],
		{
			cwd: ROOT,
			env: {
				PATH: process.env.PATH ?? "",
				HOME: process.env.HOME ?? "/tmp",
				// BENCH_OIP_NODE_OPTIONS=--cpu-prof profiles the servers.
				...(process.env.BENCH_OIP_NODE_OPTIONS
					? { NODE_OPTIONS: process.env.BENCH_OIP_NODE_OPTIONS }
					: {}),
				...env,
			},
			stdio: ["ignore", "ignore", "inherit"],
		},
	);
	return child;
}

async function waitUntil(
	what: string,
	probe: () => Promise<boolean>,
	timeoutMs = 60_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await probe().catch(() => false)) return;
		await new Promise(resolve => setTimeout(resolve, 200));
	}
	throw new Error(`Timed out waiting for ${what}`);
}

function jsonBody(rows: number, values: Float32Array): string {
	return JSON.stringify({
		inputs: [
			{
				name: "x",
				datatype: "FP32",
				shape: [rows, MLP_FEATURES],
				data: Array.from(values.subarray(0, rows * MLP_FEATURES)),
			},
		],
	});
}

function binaryBody(rows: number, values: Float32Array): { body: Buffer; headerLength: number } {
	const data = Buffer.from(values.buffer, values.byteOffset, rows * MLP_FEATURES * 4);
	const header = Buffer.from(
		JSON.stringify({
			inputs: [
				{
					name: "x",
					datatype: "FP32",
					shape: [rows, MLP_FEATURES],
					parameters: { binary_data_size: data.length },
				},
			],
			outputs: [{ name: "probabilities", parameters: { binary_data: true } }],
		}),
	);
	return { body: Buffer.concat([header, data]), headerLength: header.length };
}

async function load(
	target: string,
	url: string,
	scenario: Scenario,
	values: Float32Array,
	auth: boolean,
): Promise<Measured> {
	const headers: Record<string, string> = auth ? { authorization: `Bearer ${KEY}` } : {};
	let body: string | Buffer;
	if (scenario.binary) {
		const binary = binaryBody(scenario.rows, values);
		body = binary.body;
		headers["content-type"] = "application/octet-stream";
		headers["inference-header-content-length"] = String(binary.headerLength);
	} else {
		body = jsonBody(scenario.rows, values);
		headers["content-type"] = "application/json";
	}
	process.stderr.write(
		`oip-load: ${target}, ${scenario.name}, ${scenario.connections} connections\n`,
	);
	const check = await fetch(url, { method: "POST", headers, body });
	if (check.status !== 200) {
		throw new Error(
			`${target} answered ${check.status} to ${scenario.name}: ${await check.text()}`,
		);
	}
	const options = {
		url,
		method: "POST" as const,
		headers,
		body,
		connections: scenario.connections,
	};
	await autocannon({ ...options, duration: WARMUP_S });
	const result = await autocannon({ ...options, duration: DURATION_S });
	return {
		target,
		scenario,
		reqPerS: result.requests.average,
		p50: result.latency.p50,
		p99: result.latency.p99,
		errors: result.non2xx + result.errors + result.timeouts,
	};
}

async function setUpModel(base: string, modelFile: string): Promise<void> {
	const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
	await fetch(`${base}/api/v1/models`, {
		method: "POST",
		headers,
		body: JSON.stringify({ name: "mlp", task: "classification", framework: "onnx" }),
	});
	const upload = await fetch(
		`${base}/api/v1/models/mlp/versions/upload?version=1.0.0&fileName=mlp.onnx&state=Validated`,
		{
			method: "POST",
			headers: { authorization: `Bearer ${KEY}`, "content-type": "application/octet-stream" },
			body: fs.readFileSync(modelFile),
		},
	);
	if (upload.status !== 201) throw new Error(`upload answered ${upload.status}`);
	await fetch(`${base}/api/v1/deployments`, {
		method: "POST",
		headers,
		body: JSON.stringify({ model: "mlp", replicas: 1 }),
	});
	await waitUntil("the deployment running", async () => {
		const response = await fetch(`${base}/api/v1/deployments/mlp`, { headers });
		return ((await response.json()) as { status: string }).status === "running";
	});
}

function stop(children: ChildProcess[]): Promise<void> {
	return Promise.all(
		children.map(
			child =>
				new Promise<void>(resolve => {
					if (child.exitCode !== null || child.signalCode !== null) return resolve();
					child.once("exit", () => resolve());
					child.kill("SIGTERM");
					setTimeout(() => child.kill("SIGKILL"), 5000).unref();
				}),
		),
	).then(() => undefined);
}

export async function runOipLoad(): Promise<string> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-bench-oip-"));
	const modelFile = path.join(dir, "mlp.onnx");
	fs.writeFileSync(modelFile, writeBenchMlp());
	const values = uniformFloats(seededRandom(7), 64 * MLP_FEATURES, -1, 1);
	const measured: Measured[] = [];
	const children: ChildProcess[] = [];
	try {
		// The hand-rolled server: JSON only, as a user would write it.
		if (ONLY.has("hand-rolled")) {
			const handPort = await freePort();
			const hand = startProcess(
				[
					path.join(__dirname, "support", "handrolled-server.ts"),
					modelFile,
					String(handPort),
				],
				{},
			);
			children.push(hand);
			const handUrl = `http://127.0.0.1:${handPort}/v2/models/mlp/infer`;
			await waitUntil(
				"the hand-rolled server",
				async () => (await fetch(handUrl, { method: "POST", body: "{}" })).status === 400,
			);
			for (const scenario of SCENARIOS.filter(s => !s.binary)) {
				measured.push(await load("hand-rolled", handUrl, scenario, values, false));
			}
			await stop([hand]);
		}

		// modelfleet all-in-one.
		if (ONLY.has("all-in-one")) {
			const port = await freePort();
			const allInOne = startProcess([path.join(ROOT, "nodes", "cli.ts"), "all-in-one"], {
				PORT: String(port),
				HOST: "127.0.0.1",
				METRICS_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: path.join(dir, "all-in-one"),
				MODELFLEET_BOOTSTRAP_KEY: KEY,
			});
			children.push(allInOne);
			const base = `http://127.0.0.1:${port}`;
			await waitUntil(
				"the all-in-one node",
				async () => (await fetch(`${base}/health/ready`)).status === 200,
			);
			await setUpModel(base, modelFile);
			for (const scenario of SCENARIOS) {
				measured.push(
					await load("all-in-one", `${base}/v2/models/mlp/infer`, scenario, values, true),
				);
			}
			await stop([allInOne]);
		}

		// A gateway, a control node and a worker over NATS.
		if (ONLY.has("fleet")) {
			const nats = process.env.TRANSPORTER ?? "nats://127.0.0.1:4222";
			const namespace = `bench-${process.pid}`;
			const common = {
				TRANSPORTER: nats,
				MODELFLEET_NAMESPACE: namespace,
				METRICS_PORT: "off",
				LOG_LEVEL: "error",
			};
			const gatewayPort = await freePort();
			const fleet = [
				startProcess([path.join(ROOT, "nodes", "cli.ts"), "gateway"], {
					...common,
					PORT: String(gatewayPort),
					HOST: "127.0.0.1",
					MODELFLEET_DATA_DIR: path.join(dir, "gateway"),
				}),
				startProcess([path.join(ROOT, "nodes", "cli.ts"), "control"], {
					...common,
					MODELFLEET_DATA_DIR: path.join(dir, "control"),
					MODELFLEET_BOOTSTRAP_KEY: KEY,
				}),
				startProcess([path.join(ROOT, "nodes", "cli.ts"), "worker"], {
					...common,
					MODELFLEET_DATA_DIR: path.join(dir, "worker"),
				}),
			];
			children.push(...fleet);
			const gateway = `http://127.0.0.1:${gatewayPort}`;
			await waitUntil(
				"the fleet",
				async () => (await fetch(`${gateway}/health/ready`)).status === 200,
			);
			await setUpModel(gateway, modelFile);
			for (const scenario of SCENARIOS) {
				measured.push(
					await load(
						"fleet over NATS",
						`${gateway}/v2/models/mlp/infer`,
						scenario,
						values,
						true,
					),
				);
			}
			await stop(fleet);
		}
	} finally {
		await stop(children);
		fs.rmSync(dir, { recursive: true, force: true });
	}
	return table(measured);
}

function table(measured: readonly Measured[]): string {
	const hand = (s: Scenario) =>
		measured.find(
			m =>
				m.target === "hand-rolled" &&
				m.scenario.rows === s.rows &&
				m.scenario.connections === s.connections,
		);
	const lines = [
		`### OIP load (autocannon, ${DURATION_S} s per row after ${WARMUP_S} s warm-up)`,
		"",
		"| target | request | connections | req/s | rows/s | p50 ms | p99 ms | errors | rows/s vs hand-rolled JSON |",
		"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
	];
	for (const m of measured) {
		const reference = hand(m.scenario);
		const rows = m.reqPerS * m.scenario.rows;
		const ratio = reference
			? `${fixed(rows / (reference.reqPerS * reference.scenario.rows), 2)}×`
			: "";
		lines.push(
			`| ${m.target} | ${m.scenario.name} | ${m.scenario.connections} | ${fixed(m.reqPerS, 0)} | ${fixed(rows, 0)} | ${fixed(m.p50, 1)} | ${fixed(m.p99, 1)} | ${m.errors} | ${ratio} |`,
		);
	}
	return lines.join("\n");
}

if (require.main === module) {
	runOipLoad().then(
		text => console.log(text),
		err => {
			console.error(err);
			process.exitCode = 1;
		},
	);
}
