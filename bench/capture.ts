/**
 * What payload capture costs a deployed model's serving throughput (issue 16): an all-in-one
 * node with the bench MLP (64 features → 10 classes) deployed, autocannon against
 * `POST /v2/models/mlp/infer` at batch 1 (JSON, 16 connections), in paired rounds with the
 * deployment's capture rate at 0 and at 1 (changed through `PATCH /api/v1/deployments/mlp`
 * between rounds, the order alternating), and the median of the per-round ratios.
 * At 1 every prediction is captured: its 64 inputs and 10 outputs become a record, the
 * buffer is flushed every second to the scheduler, which stores it (PGlite, in the same
 * process and on the same cores as the gateway and the predictor).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { capturePipelineCost } from "./capture-pipeline";
import { MLP_FEATURES, writeBenchMlp } from "./models/mlp-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { freePort, waitUntil, cpuSeconds } from "./support/processes";
import { fixed, median } from "./support/stats";

const ROOT = path.join(__dirname, "..");
const KEY = "mf_bench-capture-key";
const DURATION_S = Number(process.env.BENCH_CAPTURE_DURATION_S ?? 4);
const ROUNDS = Math.max(1, Number(process.env.BENCH_CAPTURE_ROUNDS ?? 5));
const CONNECTIONS = 16;

interface Measured {
	captureRate: number;
	reqPerS: number;
	p99: number;
	errors: number;
	/** CPU time the node used per request, µs (user + system, from /proc). */
	cpuMicrosPerReq: number;
}

export async function runCapture(): Promise<string> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-bench-capture-"));
	const modelFile = path.join(dir, "mlp.onnx");
	fs.writeFileSync(modelFile, writeBenchMlp());
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	const node: ChildProcess = spawn(
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
				PORT: String(port),
				HOST: "127.0.0.1",
				METRICS_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: path.join(dir, "node"),
				MODELFLEET_BOOTSTRAP_KEY: KEY,
				// BENCH_CAPTURE_DATABASE_URL=postgres://…/an-empty-db: the metadata (and the
				// captures) in PostgreSQL, out of the node's process, as on a control node.
				...(process.env.BENCH_CAPTURE_DATABASE_URL
					? { DATABASE_URL: process.env.BENCH_CAPTURE_DATABASE_URL }
					: {}),
				// BENCH_CAPTURE_NODE_OPTIONS=--cpu-prof profiles the node.
				...(process.env.BENCH_CAPTURE_NODE_OPTIONS
					? { NODE_OPTIONS: process.env.BENCH_CAPTURE_NODE_OPTIONS }
					: {}),
			},
			stdio: ["ignore", "ignore", "inherit"],
		},
	);
	const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
	const api = (url: string, init: { method?: string; body?: unknown } = {}) =>
		fetch(`${base}/api/v1${url}`, {
			method: init.method ?? "GET",
			headers,
			...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
		});
	let tenantId = "";
	let table: string;
	try {
		await waitUntil(
			"the node",
			async () => (await fetch(`${base}/health/ready`)).status === 200,
		);
		tenantId = ((await (await api("/whoami")).json()) as { tenant: { id: string } }).tenant.id;
		await api("/models", {
			method: "POST",
			body: { name: "mlp", task: "classification", framework: "onnx" },
		});
		const upload = await fetch(
			`${base}/api/v1/models/mlp/versions/upload?version=1.0.0&fileName=mlp.onnx&state=Validated`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${KEY}`,
					"content-type": "application/octet-stream",
				},
				body: fs.readFileSync(modelFile),
			},
		);
		if (upload.status !== 201) throw new Error(`upload answered ${upload.status}`);
		await api("/deployments", { method: "POST", body: { model: "mlp", replicas: 1 } });
		await waitUntil(
			"the deployment",
			async () =>
				((await (await api("/deployments/mlp")).json()) as { status: string }).status ===
				"running",
		);

		const values = uniformFloats(seededRandom(7), MLP_FEATURES, -1, 1);
		const body = JSON.stringify({
			inputs: [
				{ name: "x", datatype: "FP32", shape: [1, MLP_FEATURES], data: Array.from(values) },
			],
		});
		const url = `${base}/v2/models/mlp/infer`;
		const setRate = async (captureRate: number) => {
			const patched = await api("/deployments/mlp", {
				method: "PATCH",
				body: { monitoring: { captureRate } },
			});
			if (patched.status !== 200) throw new Error(`PATCH answered ${patched.status}`);
			// The node takes the rate from the next routing table; then the previous rate's flushes settle.
			await new Promise(resolve => setTimeout(resolve, 1500));
		};
		const load = async (captureRate: number, duration = DURATION_S): Promise<Measured> => {
			await setRate(captureRate);
			const cpuBefore = cpuSeconds(node.pid) ?? 0;
			const result = await autocannon({
				url,
				method: "POST",
				headers,
				body,
				connections: CONNECTIONS,
				duration,
			});
			// The captures of the last second are flushed and stored after the load: counted too.
			await new Promise(resolve => setTimeout(resolve, 1500));
			const cpuAfter = cpuSeconds(node.pid) ?? 0;
			return {
				captureRate,
				reqPerS: result.requests.average,
				p99: result.latency.p99,
				errors: result.non2xx + result.errors + result.timeouts,
				cpuMicrosPerReq:
					((cpuAfter - cpuBefore) * 1e6) / Math.max(1, result.requests.total),
			};
		};
		process.stderr.write("capture: warming up\n");
		await load(1, 2);
		await load(0, 2);
		const rounds: Array<{ off: Measured; on: Measured }> = [];
		for (let r = 0; r < ROUNDS; r++) {
			process.stderr.write(`capture: round ${r + 1}/${ROUNDS}\n`);
			// Alternate which goes first, so a machine slowing down or speeding up cancels out.
			if (r % 2 === 0) {
				const off = await load(0);
				rounds.push({ off, on: await load(1) });
			} else {
				const on = await load(1);
				rounds.push({ off: await load(0), on });
			}
		}
		await setRate(0);
		// How many were captured and stored: the export's lines.
		const exported = await fetch(`${base}/api/v1/deployments/mlp/captures`, { headers });
		const stored = (await exported.text()).split("\n").filter(line => line.length > 0).length;
		const ratios = rounds.map(r => r.on.reqPerS / r.off.reqPerS);
		const cpuRatios = rounds.map(r => r.off.cpuMicrosPerReq / r.on.cpuMicrosPerReq);
		const offs = rounds.map(r => r.off);
		const ons = rounds.map(r => r.on);
		const row = (name: string, list: Measured[], ratio: string, cpuRatio: string) =>
			`| ${name} | ${fixed(median(list.map(m => m.reqPerS)), 0)} | ${fixed(median(list.map(m => m.p99)), 1)} | ${list.reduce((n, m) => n + m.errors, 0)} | ${ratio} | ${fixed(median(list.map(m => m.cpuMicrosPerReq)), 0)} | ${cpuRatio} |`;
		table = [
			`### Payload capture: deployed MLP, batch 1 JSON, ${CONNECTIONS} connections, all-in-one on ${process.env.BENCH_CAPTURE_DATABASE_URL ? "PostgreSQL" : "PGlite"} (${ROUNDS} paired rounds of ${DURATION_S} s)`,
			"",
			"| capture rate | req/s (median) | p99 ms (median) | errors | req/s vs capture off (median of per-round ratios) | node CPU µs/req (median) | requests per CPU-second vs capture off (median of per-round ratios) |",
			"| ------------ | -------------: | --------------: | -----: | ------------------------------------------------: | -----------------------: | ------------------------------------------------------------------: |",
			row("0 (off)", offs, "1.00×", "1.00×"),
			row(
				"1 (every prediction)",
				ons,
				`${fixed(median(ratios), 3)}× (rounds: ${ratios.map(r => fixed(r, 3)).join(", ")})`,
				`${fixed(median(cpuRatios), 3)}× (rounds: ${cpuRatios.map(r => fixed(r, 3)).join(", ")})`,
			),
			"",
			`Predictions captured and stored over the run: ${stored}.`,
			"",
		].join("\n");
	} catch (err) {
		fs.rmSync(dir, { recursive: true, force: true });
		throw err;
	} finally {
		node.kill("SIGTERM");
		await new Promise(resolve => node.once("exit", resolve));
	}
	// Then, in the database the node used (its process gone): the pipeline alone.
	try {
		process.stderr.write("capture: the pipeline in process\n");
		const databaseUrl = process.env.BENCH_CAPTURE_DATABASE_URL ?? null;
		const cost = await capturePipelineCost(
			{ databaseUrl, dataDir: path.join(dir, "node") },
			tenantId,
		);
		return [
			table,
			"",
			`The capture pipeline in process (bench/capture-pipeline.ts, on ${databaseUrl ? "PostgreSQL" : "PGlite"}; best of 10 rounds of 3000): ${fixed(cost.totalMicros, 2)} µs of CPU per capture, ${fixed(cost.offerMicros, 2)} µs of it on the predict path (the record written into its batch), ${fixed(cost.totalMicros - cost.offerMicros, 2)} µs in the flush and the store. The node stored ${cost.batches} batches, ${fixed(cost.capturesPerBatch, 0)} captures each on average.`,
		].join("\n");
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}
