/**
 * gRPC raw vs REST binary on a deployed model: an all-in-one node (its own process) serving the
 * digits-size MLP (64→128→10), the same requests sent as `ModelInfer` with `raw_input_contents`
 * (one channel), as `ModelStreamInfer` messages (one stream), and as `POST /v2/models/mlp/infer`
 * with the binary tensor extension (keep-alive HTTP/1.1), at batch 1 and 64 with 16 requests
 * in flight. Closed loops from this process (the clients cost CPU too, for both protocols).
 * The machine is shared and noisy: rounds alternate REST and gRPC and each round's ratio is
 * taken against the REST measure right before it; the load average is printed with the table.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { InferenceClient } from "../lib/grpc/grpc-client";
import { MLP_FEATURES, writeBenchMlp } from "./models/mlp-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { freePort, waitUntil } from "./support/processes";
import { fixed, median } from "./support/stats";

const ROOT = path.join(__dirname, "..");
const KEY = "mf_bench-grpc-key";
const IN_FLIGHT = 16;
const ROUND_S = Number(process.env.BENCH_GRPC_ROUND_S ?? 3);
const ROUNDS = Math.max(1, Number(process.env.BENCH_GRPC_ROUNDS ?? 4));
const BATCHES = [1, 64] as const;

type Way = "REST binary" | "gRPC raw" | "gRPC stream";

/** Uploads the MLP as a Validated version and deploys it (one replica), as a user would. */
async function deploy(base: string, modelFile: string): Promise<void> {
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

/** One request of each way, as a function that resolves when its answer is in. */
function senders(
	httpPort: number,
	client: InferenceClient,
	rows: number,
	values: Float32Array,
): Record<Exclude<Way, "gRPC stream">, () => Promise<void>> {
	const raw = Buffer.from(values.buffer, values.byteOffset, rows * MLP_FEATURES * 4);
	const header = Buffer.from(
		JSON.stringify({
			inputs: [
				{
					name: "x",
					datatype: "FP32",
					shape: [rows, MLP_FEATURES],
					parameters: { binary_data_size: raw.length },
				},
			],
			parameters: { binary_data_output: true },
		}),
	);
	const body = Buffer.concat([header, raw]);
	const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
	const message = {
		model_name: "mlp",
		inputs: [{ name: "x", datatype: "FP32", shape: [rows, MLP_FEATURES] }],
		raw_input_contents: [raw],
	};
	return {
		"REST binary": () =>
			new Promise((resolve, reject) => {
				const req = http.request(
					{
						host: "127.0.0.1",
						port: httpPort,
						path: "/v2/models/mlp/infer",
						method: "POST",
						agent,
						headers: {
							authorization: `Bearer ${KEY}`,
							"content-type": "application/octet-stream",
							"content-length": body.length,
							"inference-header-content-length": header.length,
						},
					},
					res => {
						res.resume();
						res.on("end", () =>
							res.statusCode === 200
								? resolve()
								: reject(new Error(`REST answered ${res.statusCode}`)),
						);
					},
				);
				req.on("error", reject);
				req.end(body);
			}),
		"gRPC raw": () => client.call("ModelInfer", message).then(() => undefined),
	};
}

/** Requests per second of `send` with IN_FLIGHT closed loops for ROUND_S seconds. */
async function closedLoop(send: () => Promise<void>): Promise<number> {
	const end = performance.now() + ROUND_S * 1000;
	let done = 0;
	const loop = async () => {
		while (performance.now() < end) {
			await send();
			done++;
		}
	};
	const started = performance.now();
	await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
	return done / ((performance.now() - started) / 1000);
}

/** Requests per second on one ModelStreamInfer stream, IN_FLIGHT messages outstanding. */
async function streamLoop(client: InferenceClient, message: object): Promise<number> {
	const stream = client.stream();
	const end = performance.now() + ROUND_S * 1000;
	let done = 0;
	let sent = 0;
	const started = performance.now();
	await new Promise<void>((resolve, reject) => {
		stream.on("data", (answer: { error_message?: string }) => {
			if (answer.error_message) return reject(new Error(answer.error_message));
			done++;
			if (performance.now() < end) {
				sent++;
				stream.write(message);
			} else if (done === sent) stream.end();
		});
		stream.on("end", resolve);
		stream.on("error", reject);
		for (let i = 0; i < IN_FLIGHT; i++) {
			sent++;
			stream.write(message);
		}
	});
	return done / ((performance.now() - started) / 1000);
}

function stopChild(child: ChildProcess): Promise<void> {
	return new Promise(resolve => {
		if (child.exitCode !== null || child.signalCode !== null) return resolve();
		child.once("exit", () => resolve());
		child.kill("SIGTERM");
		setTimeout(() => child.kill("SIGKILL"), 5000).unref();
	});
}

export async function runGrpcLoad(): Promise<string> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-bench-grpc-"));
	const modelFile = path.join(dir, "mlp.onnx");
	fs.writeFileSync(modelFile, writeBenchMlp());
	const values = uniformFloats(seededRandom(7), 64 * MLP_FEATURES, -1, 1);
	const [port, grpcPort] = [await freePort(), await freePort()];
	const node = spawn(
		process.execPath,
		[
			"--require",
			path.join(ROOT, "scripts", "ts-register.js"),
			path.join(ROOT, "nodes", "cli.ts"),
			"all-in-one",
		],
		{
			cwd: ROOT,
			env: {
				PATH: process.env.PATH ?? "",
				HOME: process.env.HOME ?? "/tmp",
				HOST: "127.0.0.1",
				PORT: String(port),
				MODELFLEET_GRPC_PORT: String(grpcPort),
				METRICS_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: path.join(dir, "node"),
				MODELFLEET_BOOTSTRAP_KEY: KEY,
			},
			stdio: ["ignore", "ignore", "inherit"],
		},
	);
	const client = new InferenceClient(`127.0.0.1:${grpcPort}`, { key: KEY });
	const loadBefore = os.loadavg()[0];
	const rows: string[] = [];
	try {
		const base = `http://127.0.0.1:${port}`;
		await waitUntil(
			"the all-in-one node",
			async () => (await fetch(`${base}/health/ready`)).ok,
		);
		await deploy(base, modelFile);
		for (const batch of BATCHES) {
			const send = senders(port, client, batch, values);
			const message = {
				model_name: "mlp",
				inputs: [{ name: "x", datatype: "FP32", shape: [batch, MLP_FEATURES] }],
				raw_input_contents: [
					Buffer.from(values.buffer, values.byteOffset, batch * MLP_FEATURES * 4),
				],
			};
			// Warm-up: both ways answer, and the model's first runs are out of the way.
			for (let i = 0; i < 50; i++) {
				await send["REST binary"]();
				await send["gRPC raw"]();
			}
			const rates: Record<Way, number[]> = {
				"REST binary": [],
				"gRPC raw": [],
				"gRPC stream": [],
			};
			const ratios: Record<Exclude<Way, "REST binary">, number[]> = {
				"gRPC raw": [],
				"gRPC stream": [],
			};
			for (let round = 0; round < ROUNDS; round++) {
				const rest = await closedLoop(send["REST binary"]);
				const unary = await closedLoop(send["gRPC raw"]);
				const rest2 = await closedLoop(send["REST binary"]);
				const streamed = await streamLoop(client, message);
				rates["REST binary"].push(rest, rest2);
				rates["gRPC raw"].push(unary);
				rates["gRPC stream"].push(streamed);
				ratios["gRPC raw"].push(unary / rest);
				ratios["gRPC stream"].push(streamed / rest2);
			}
			for (const way of ["REST binary", "gRPC raw", "gRPC stream"] as const)
				rows.push(
					`| ${batch} | ${way} | ${fixed(median(rates[way]), 0)} | ${fixed(median(rates[way]) * batch, 0)} | ${
						way === "REST binary"
							? "1.00"
							: `${fixed(median(ratios[way]), 2)} (${ratios[way].map(r => fixed(r, 2)).join(", ")})`
					} |`,
				);
		}
	} finally {
		client.close();
		await stopChild(node);
		fs.rmSync(dir, { recursive: true, force: true });
	}
	const loadAfter = os.loadavg()[0];
	return [
		`### gRPC raw vs REST binary (all-in-one, deployed MLP 64→128→10, ${IN_FLIGHT} in flight, ${ROUNDS} paired rounds of ${ROUND_S} s)`,
		"",
		`Load average (1 min) ${fixed(loadBefore, 2)} before, ${fixed(loadAfter, 2)} after, on ${os.cpus().length} CPUs.`,
		"",
		"| batch | way | requests/s (median) | rows/s | ratio to REST binary, per round (median) |",
		"| ----- | --- | ------------------- | ------ | ----------------------------------------- |",
		...rows,
	].join("\n");
}
