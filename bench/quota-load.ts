/**
 * What metering and the prediction quotas cost on the predict path: autocannon against
 * `POST /v2/models/mlp/infer` of one all-in-one node, as a tenant without quotas and as a
 * tenant whose per-minute and per-day quotas are set far above the load (every request counted
 * against them, reconciled every second) — and, with BENCH_QUOTA_BASELINE_ROOT set to a
 * checkout without metering (e.g. /work/main), that checkout's all-in-one node as the baseline.
 * Paired rounds: each round measures every target back to back, in an order that rotates, and
 * each ratio is the median of the per-round ratios, so a machine that slows down for a while
 * slows every target of that round alike.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { MLP_FEATURES, writeBenchMlp } from "./models/mlp-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { freePort, waitUntil } from "./support/processes";
import { fixed, median } from "./support/stats";
import { UsageMeter } from "../lib/metering/usage-meter";
import { requestBytes, responseBytes } from "../lib/metering/tensor-bytes";
import { PredictionQuota } from "../lib/quotas/prediction-quota";
import { MemorySharedCount } from "../lib/quotas/shared-count";

const ROOT = path.join(__dirname, "..");
const KEY = "mf_bench-quota-load-key";
const DURATION_S = Number(process.env.BENCH_QUOTA_DURATION_S ?? 4);
const ROUNDS = Math.max(1, Number(process.env.BENCH_QUOTA_ROUNDS ?? 6));
const CONNECTIONS = 16;
const BASELINE_ROOT = process.env.BENCH_QUOTA_BASELINE_ROOT ?? null;

interface Target {
	name: string;
	url: string;
	key: string;
}

/** An all-in-one node of the checkout at `root`, its data under `dir`. */
async function startNode(
	root: string,
	dir: string,
): Promise<{ child: ChildProcess; base: string }> {
	const port = await freePort();
	const child = spawn(
		process.execPath,
		[
			"--require",
			path.join(root, "scripts", "ts-register.js"),
			path.join(root, "nodes", "cli.ts"),
			"all-in-one",
		],
		{
			cwd: root,
			env: {
				PATH: process.env.PATH ?? "",
				HOME: process.env.HOME ?? "/tmp",
				PORT: String(port),
				HOST: "127.0.0.1",
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: dir,
				MODELFLEET_BOOTSTRAP_KEY: KEY,
			},
			stdio: ["ignore", "ignore", "inherit"],
		},
	);
	const base = `http://127.0.0.1:${port}`;
	await waitUntil(
		`the node of ${root}`,
		async () => (await fetch(`${base}/health/ready`)).status === 200,
		90_000,
	);
	return { child, base };
}

async function call(
	base: string,
	key: string,
	route: string,
	method: string,
	body?: unknown,
): Promise<unknown> {
	const response = await fetch(`${base}/api/v1${route}`, {
		method,
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	if (response.status >= 300)
		throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
	return response.json();
}

/** The model, uploaded and deployed (one replica) for the tenant of `key`. */
async function setUpModel(base: string, key: string, modelFile: string): Promise<void> {
	await call(base, key, "/models", "POST", {
		name: "mlp",
		task: "classification",
		framework: "onnx",
	});
	const upload = await fetch(
		`${base}/api/v1/models/mlp/versions/upload?version=1.0.0&fileName=mlp.onnx&state=Validated`,
		{
			method: "POST",
			headers: { authorization: `Bearer ${key}`, "content-type": "application/octet-stream" },
			body: fs.readFileSync(modelFile),
		},
	);
	if (upload.status !== 201) throw new Error(`upload answered ${upload.status}`);
	await call(base, key, "/deployments", "POST", { model: "mlp", replicas: 1 });
	await waitUntil(
		"the deployment running",
		async () =>
			((await call(base, key, "/deployments/mlp", "GET")) as { status: string }).status ===
			"running",
		90_000,
	);
}

async function load(
	target: Target,
	body: string,
	duration: number,
): Promise<{ reqPerS: number; p99: number; errors: number }> {
	const result = await autocannon({
		url: target.url,
		method: "POST",
		headers: { authorization: `Bearer ${target.key}`, "content-type": "application/json" },
		body,
		connections: CONNECTIONS,
		duration,
	});
	return {
		reqPerS: result.requests.average,
		p99: result.latency.p99,
		errors: result.non2xx + result.errors + result.timeouts,
	};
}

/**
 * The work metering and the quota check add to one request, in this process with the real
 * classes: the quota decision for a tenant with rate quotas and one without, the meter's count,
 * and the tensor bytes of the request and answer. µs per request, best of 5 runs of 200,000.
 */
async function addedWork(body: string): Promise<string> {
	const request = JSON.parse(body) as { inputs: Array<{ data: number[] }> };
	const outputs = [
		{
			name: "probabilities",
			datatype: "FP32" as const,
			shape: [1, 10],
			data: new Float32Array(10),
		},
	];
	const quota = new PredictionQuota({
		loadQuotas: tenant =>
			Promise.resolve(
				tenant === "on" ? { predictionsPerMinute: 1e12, predictionsPerDay: 1e12 } : {},
			),
		shared: new MemorySharedCount(),
	});
	const meter = new UsageMeter({ node: "bench" });
	const N = 200_000;
	const time = async (work: () => Promise<unknown> | unknown): Promise<number> => {
		let best = Infinity;
		for (let run = 0; run < 5; run++) {
			const started = performance.now();
			for (let i = 0; i < N; i++) await work();
			best = Math.min(best, ((performance.now() - started) * 1000) / N);
			meter.takeFlush();
			meter.acknowledge(meter.takeFlush()[0]?.seq ?? 0);
		}
		return best;
	};
	const rows = [
		["empty await (the loop itself)", await time(() => Promise.resolve(null))],
		["quota check, tenant without quotas", await time(() => quota.admit("off"))],
		["quota check, tenant with rate quotas", await time(() => quota.admit("on"))],
		[
			"meter count with tensor bytes (64 FP32 in, 10 out)",
			await time(() =>
				meter.prediction({
					tenant: "t",
					model: "mlp",
					version: "1.0.0",
					rows: 1,
					failed: false,
					ms: 0.5,
					gpu: false,
					bytesIn: requestBytes(request),
					bytesOut: responseBytes(outputs),
				}),
			),
		],
	] as const;
	await quota.close();
	return [
		"| added work per request (in process, best of 5 × 200,000) | µs |",
		"| --- | --- |",
		...rows.map(([what, us]) => `| ${what} | ${fixed(us, 3)} |`),
	].join("\n");
}

export async function runQuotaLoad(): Promise<string> {
	// Long because it is the benchmark's whole procedure: start the nodes, set the tenants up,
	// run the paired rounds, and write the table.
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-bench-quota-"));
	const modelFile = path.join(dir, "mlp.onnx");
	fs.writeFileSync(modelFile, writeBenchMlp());
	const values = uniformFloats(seededRandom(7), MLP_FEATURES, -1, 1);
	const body = JSON.stringify({
		inputs: [
			{ name: "x", datatype: "FP32", shape: [1, MLP_FEATURES], data: Array.from(values) },
		],
	});
	const children: ChildProcess[] = [];
	try {
		const node = await startNode(ROOT, path.join(dir, "branch"));
		children.push(node.child);
		await setUpModel(node.base, KEY, modelFile);
		const created = (await call(node.base, KEY, "/tenants", "POST", { name: "quota-on" })) as {
			tenant: { id: string };
			ownerKey: { key: string };
		};
		await call(node.base, KEY, `/tenants/${created.tenant.id}/quotas`, "PUT", {
			predictionsPerMinute: 1e12,
			predictionsPerDay: 1e12,
		});
		await setUpModel(node.base, created.ownerKey.key, modelFile);
		const targets: Target[] = [
			{ name: "metering, no quotas", url: `${node.base}/v2/models/mlp/infer`, key: KEY },
			{
				name: "metering and rate quotas",
				url: `${node.base}/v2/models/mlp/infer`,
				key: created.ownerKey.key,
			},
		];
		if (BASELINE_ROOT !== null) {
			const baseline = await startNode(BASELINE_ROOT, path.join(dir, "baseline"));
			children.push(baseline.child);
			await setUpModel(baseline.base, KEY, modelFile);
			targets.unshift({
				name: "baseline (no metering)",
				url: `${baseline.base}/v2/models/mlp/infer`,
				key: KEY,
			});
		}
		for (const target of targets) await load(target, body, 2);
		const rounds: Array<Record<string, { reqPerS: number; p99: number; errors: number }>> = [];
		for (let r = 0; r < ROUNDS; r++) {
			const round: Record<string, { reqPerS: number; p99: number; errors: number }> = {};
			for (let i = 0; i < targets.length; i++) {
				const target = targets[(i + r) % targets.length];
				process.stderr.write(`quota-load: round ${r + 1}, ${target.name}\n`);
				round[target.name] = await load(target, body, DURATION_S);
			}
			rounds.push(round);
		}
		const reference = targets[0].name;
		const lines = [
			`| target | req/s (median of ${ROUNDS} rounds) | p99 ms (median) | × ${reference} (median of per-round ratios) | per-round ratios | errors |`,
			"| --- | --- | --- | --- | --- | --- |",
		];
		for (const target of targets) {
			const ratios = rounds.map(r => r[target.name].reqPerS / r[reference].reqPerS);
			lines.push(
				`| ${target.name} | ${fixed(median(rounds.map(r => r[target.name].reqPerS)), 0)} | ${fixed(median(rounds.map(r => r[target.name].p99)), 0)} | ${fixed(median(ratios), 3)} | ${ratios.map(x => fixed(x, 3)).join(", ")} | ${rounds.reduce((n, r) => n + r[target.name].errors, 0)} |`,
			);
		}
		return [
			await addedWork(body),
			"",
			`### Metering and quotas on the predict path (batch 1, JSON, ${CONNECTIONS} connections, ${DURATION_S} s per measurement)`,
			"",
			...lines,
		].join("\n");
	} finally {
		await Promise.all(
			children.map(
				child =>
					new Promise<void>(resolve => {
						if (child.exitCode !== null || child.signalCode !== null) return resolve();
						child.once("exit", () => resolve());
						child.kill("SIGTERM");
						setTimeout(() => child.kill("SIGKILL"), 5000).unref();
					}),
			),
		);
		fs.rmSync(dir, { recursive: true, force: true });
	}
}
