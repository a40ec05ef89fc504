/**
 * Open Inference Protocol load over real HTTP on loopback, with autocannon: the all-in-one
 * gateway vs a hand-rolled node:http + onnxruntime-node server (support/handrolled-server.ts),
 * and the same requests through a gateway, a control node and a worker over NATS. Digits-size
 * MLP (64→128→10); batch 1 at 16 and 64 connections, batch 64 at 16 connections; JSON, and our
 * binary tensor extension.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { MLP_FEATURES, writeBenchMlp } from "./models/mlp-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { freePort, waitUntil, cpuSeconds } from "./support/processes";
import { fixed, median } from "./support/stats";

const ROOT = path.join(__dirname, "..");
const KEY = "mf_bench-oip-load-key";
const WARMUP_S = 2;
const DURATION_S = Number(process.env.BENCH_OIP_DURATION_S ?? 4);
/**
 * BENCH_OIP_ONLY=hand-rolled,all-in-one,all-in-one-threads,fleet runs only those targets
 * (default all four).
 */
const ONLY = new Set(
	(process.env.BENCH_OIP_ONLY ?? "hand-rolled,all-in-one,all-in-one-threads,fleet").split(","),
);

/** The all-in-one node as it starts by default, and with a serving thread besides its main one. */
const ALL_IN_ONE_VARIANTS = [
	{ key: "all-in-one", name: "all-in-one", servingThreads: 1 },
	{ key: "all-in-one-threads", name: "all-in-one, 2 serving threads", servingThreads: 2 },
] as const;

interface Scenario {
	name: string;
	rows: number;
	connections: number;
	binary: boolean;
}

const ALL_SCENARIOS: readonly Scenario[] = [
	{ name: "batch 1, JSON", rows: 1, connections: 16, binary: false },
	{ name: "batch 1, JSON", rows: 1, connections: 64, binary: false },
	{ name: "batch 64, JSON", rows: 64, connections: 16, binary: false },
	{ name: "batch 1, binary", rows: 1, connections: 16, binary: true },
	{ name: "batch 64, binary", rows: 64, connections: 16, binary: true },
];

/** A scenario's short name, as BENCH_OIP_SCENARIOS takes it: `b1-c16-json`, `b64-c16-binary`. */
function scenarioKey(s: Scenario): string {
	return `b${s.rows}-c${s.connections}-${s.binary ? "binary" : "json"}`;
}

/** Rows run only when BENCH_OIP_SCENARIOS names them: one closed-loop client, for latency. */
const EXTRA_SCENARIOS: readonly Scenario[] = [
	{ name: "batch 1, JSON", rows: 1, connections: 1, binary: false },
];

/**
 * BENCH_OIP_SCENARIOS=b1-c16-json,b64-c16-binary runs only those rows (default all but
 * b1-c1-json), e.g. to profile one.
 */
const SCENARIOS = process.env.BENCH_OIP_SCENARIOS
	? [...ALL_SCENARIOS, ...EXTRA_SCENARIOS].filter(s =>
			(process.env.BENCH_OIP_SCENARIOS ?? "").split(",").includes(scenarioKey(s)),
		)
	: ALL_SCENARIOS;

interface Measured {
	target: string;
	scenario: Scenario;
	reqPerS: number;
	p50: number;
	p99: number;
	errors: number;
	/** CPU time the server process(es) used per request, µs (user + system, from /proc). */
	cpuMicrosPerReq: number | null;
	/** The same per process of the target (gateway, control, worker for the fleet). */
	cpuMicrosByProcess: number[] | null;
}

/** One round of a scenario: the target, and the hand-rolled server's JSON right before it. */
interface Round {
	target: Measured;
	reference: Measured | null;
}

/** Measured rounds per scenario and target, alternating with the hand-rolled server. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_OIP_ROUNDS ?? 3));

function totalCpuSeconds(pids: readonly (number | undefined)[]): number | null {
	let total = 0;
	for (const pid of pids) {
		const seconds = cpuSeconds(pid);
		if (seconds === null) return null;
		total += seconds;
	}
	return total;
}

/** A server under test: where to send requests, whether it needs the key, its processes. */
interface Target {
	name: string;
	url: string;
	auth: boolean;
	processes: readonly ChildProcess[];
}

/**
 * How the model a modelfleet target serves came to be served: a deployment made by the REST
 * API, one made by Triton's repository load, or no deployment at all (loaded on demand by the
 * first request). Each is its own model (same file), measured in the same rounds.
 */
const MODEL_SETUPS = [
	{ model: "mlp", label: "deployed (REST)" },
	{ model: "mlp-repo", label: "deployed (repository load)" },
	{ model: "mlp-ondemand", label: "on demand" },
] as const;

/** BENCH_OIP_SETUPS=deployed-rest,repository,on-demand picks the model set-ups (default all). */
const SETUP_KEYS = ["deployed-rest", "repository", "on-demand"] as const;
const SETUPS = MODEL_SETUPS.filter((_, i) =>
	(process.env.BENCH_OIP_SETUPS ?? SETUP_KEYS.join(",")).split(",").includes(SETUP_KEYS[i]),
);

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
				// MODELFLEET_* of the bench's environment reach the nodes (e.g.
				// MODELFLEET_COALESCE_MAX_ROWS=0: the fleet without coalescing); the bench's own win.
				...Object.fromEntries(
					Object.entries(process.env).filter(
						(e): e is [string, string] =>
							e[0].startsWith("MODELFLEET_") && e[1] !== undefined,
					),
				),
				...env,
			},
			// BENCH_OIP_NODE_LOG_DIR: each server's standard output (e.g. --trace-gc) to a file there.
			stdio: [
				"ignore",
				process.env.BENCH_OIP_NODE_LOG_DIR
					? fs.openSync(
							path.join(
								process.env.BENCH_OIP_NODE_LOG_DIR,
								`${path.basename(args[args.length - 1])}-${Date.now()}.log`,
							),
							"w",
						)
					: "ignore",
				"inherit",
			],
		},
	);
	return child;
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

function requestOf(
	scenario: Scenario,
	values: Float32Array,
	auth: boolean,
): { headers: Record<string, string>; body: string | Buffer } {
	const headers: Record<string, string> = auth ? { authorization: `Bearer ${KEY}` } : {};
	if (scenario.binary) {
		const binary = binaryBody(scenario.rows, values);
		headers["content-type"] = "application/octet-stream";
		headers["inference-header-content-length"] = String(binary.headerLength);
		return { headers, body: binary.body };
	}
	headers["content-type"] = "application/json";
	return { headers, body: jsonBody(scenario.rows, values) };
}

/** Checks that the target answers the scenario's request, then warms it up. */
async function warmUp(target: Target, scenario: Scenario, values: Float32Array): Promise<void> {
	const { headers, body } = requestOf(scenario, values, target.auth);
	const check = await fetch(target.url, { method: "POST", headers, body });
	if (check.status !== 200) {
		throw new Error(
			`${target.name} answered ${check.status} to ${scenario.name}: ${await check.text()}`,
		);
	}
	await autocannon({
		url: target.url,
		method: "POST",
		headers,
		body,
		connections: scenario.connections,
		duration: WARMUP_S,
	});
}

async function load(target: Target, scenario: Scenario, values: Float32Array): Promise<Measured> {
	const { headers, body } = requestOf(scenario, values, target.auth);
	const pids = target.processes.map(child => child.pid);
	const cpuBefore = totalCpuSeconds(pids);
	const eachBefore = pids.map(pid => cpuSeconds(pid));
	const result = await autocannon({
		url: target.url,
		method: "POST",
		headers,
		body,
		connections: scenario.connections,
		duration: DURATION_S,
	});
	const cpuAfter = totalCpuSeconds(pids);
	const eachAfter = pids.map(pid => cpuSeconds(pid));
	const total = result.requests.total;
	return {
		target: target.name,
		scenario,
		reqPerS: result.requests.average,
		p50: result.latency.p50,
		p99: result.latency.p99,
		errors: result.non2xx + result.errors + result.timeouts,
		cpuMicrosPerReq:
			cpuBefore !== null && cpuAfter !== null && result.requests.total > 0
				? ((cpuAfter - cpuBefore) * 1e6) / result.requests.total
				: null,
		cpuMicrosByProcess:
			total > 0 && eachBefore.every(v => v !== null) && eachAfter.every(v => v !== null)
				? eachAfter.map(
						(after, i) =>
							(((after as number) - (eachBefore[i] as number)) * 1e6) / total,
					)
				: null,
	};
}

/**
 * Every scenario on each of `targets` (the same server, one model set-up each), in rounds:
 * the hand-rolled server's JSON of the same rows and connections (when it runs), then each
 * target in turn, starting one further each round — measurements seconds apart see the same
 * machine, and no set-up always holds the same place in the order.
 */
async function measureTargets(
	targets: readonly Target[],
	hand: Target | null,
	values: Float32Array,
	scenarios: readonly Scenario[],
): Promise<Array<{ target: string; scenario: Scenario; rounds: Round[] }>> {
	const out: Array<{ target: string; scenario: Scenario; rounds: Round[] }> = [];
	for (const scenario of scenarios) {
		process.stderr.write(
			`oip-load: ${targets.map(t => t.name).join(" / ")}, ${scenario.name}, ${scenario.connections} connections\n`,
		);
		const reference = hand
			? { ...scenario, name: `batch ${scenario.rows}, JSON`, binary: false }
			: null;
		if (hand && reference) await warmUp(hand, reference, values);
		for (const target of targets) await warmUp(target, scenario, values);
		const rounds = targets.map((): Round[] => []);
		for (let r = 0; r < ROUNDS; r++) {
			const ref = hand && reference ? await load(hand, reference, values) : null;
			// Each round starts with another target, so none is always the one measured right
			// after the hand-rolled server (or always last) when the set-ups are compared.
			for (let k = 0; k < targets.length; k++) {
				const t = (k + r) % targets.length;
				rounds[t].push({
					reference: ref,
					target: await load(targets[t], scenario, values),
				});
			}
		}
		targets.forEach((target, t) =>
			out.push({ target: target.name, scenario, rounds: rounds[t] }),
		);
	}
	return out;
}

async function upload(base: string, model: string, modelFile: string): Promise<void> {
	await fetch(`${base}/api/v1/models`, {
		method: "POST",
		headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
		body: JSON.stringify({ name: model, task: "classification", framework: "onnx" }),
	});
	const response = await fetch(
		`${base}/api/v1/models/${model}/versions/upload?version=1.0.0&fileName=mlp.onnx&state=Validated`,
		{
			method: "POST",
			headers: { authorization: `Bearer ${KEY}`, "content-type": "application/octet-stream" },
			body: fs.readFileSync(modelFile),
		},
	);
	if (response.status !== 201) throw new Error(`upload of ${model} answered ${response.status}`);
}

/**
 * The three set-ups of MODEL_SETUPS: `mlp` deployed by the REST API, `mlp-repo` by Triton's
 * repository load, `mlp-ondemand` only uploaded. Resolves once both deployments run.
 */
async function setUpModels(base: string, modelFile: string): Promise<void> {
	const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
	for (const { model } of MODEL_SETUPS) await upload(base, model, modelFile);
	const deploy = await fetch(`${base}/api/v1/deployments`, {
		method: "POST",
		headers,
		body: JSON.stringify({ model: "mlp", replicas: 1 }),
	});
	if (deploy.status >= 300) throw new Error(`deployment answered ${deploy.status}`);
	const repositoryLoad = await fetch(`${base}/v2/repository/models/mlp-repo/load`, {
		method: "POST",
		headers,
		body: "{}",
	});
	if (repositoryLoad.status !== 200) {
		throw new Error(`repository load answered ${repositoryLoad.status}`);
	}
	for (const model of ["mlp", "mlp-repo"]) {
		await waitUntil(`the deployment of ${model} running`, async () => {
			const response = await fetch(`${base}/api/v1/deployments/${model}`, { headers });
			return ((await response.json()) as { status: string }).status === "running";
		});
	}
}

/** One target per model set-up, on the server at `base`. */
function setUpTargets(name: string, base: string, processes: readonly ChildProcess[]): Target[] {
	return SETUPS.map(setup => ({
		name: `${name}, ${setup.label}`,
		url: `${base}/v2/models/${setup.model}/infer`,
		auth: true,
		processes,
	}));
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
	const results: Array<{ target: string; scenario: Scenario; rounds: Round[] }> = [];
	const children: ChildProcess[] = [];
	try {
		// The hand-rolled server: JSON only, as a user would write it. It stays up for the whole
		// run: each other target's rounds alternate with it.
		let hand: Target | null = null;
		if (ONLY.has("hand-rolled")) {
			const handPort = await freePort();
			const child = startProcess(
				[
					path.join(__dirname, "support", "handrolled-server.ts"),
					modelFile,
					String(handPort),
				],
				{},
			);
			children.push(child);
			hand = {
				name: "hand-rolled",
				url: `http://127.0.0.1:${handPort}/v2/models/mlp/infer`,
				auth: false,
				processes: [child],
			};
			const handUrl = hand.url;
			await waitUntil(
				"the hand-rolled server",
				async () => (await fetch(handUrl, { method: "POST", body: "{}" })).status === 400,
			);
			if (!ALL_IN_ONE_VARIANTS.some(v => ONLY.has(v.key)) && !ONLY.has("fleet")) {
				results.push(
					...(await measureTargets(
						[hand],
						null,
						values,
						SCENARIOS.filter(s => !s.binary),
					)),
				);
			}
		}

		// modelfleet all-in-one: on one event loop, and on two (MODELFLEET_SERVING_THREADS=2).
		for (const variant of ALL_IN_ONE_VARIANTS) {
			if (!ONLY.has(variant.key)) continue;
			const port = await freePort();
			const allInOne = startProcess([path.join(ROOT, "nodes", "cli.ts"), "all-in-one"], {
				PORT: String(port),
				HOST: "127.0.0.1",
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: path.join(dir, variant.key),
				MODELFLEET_BOOTSTRAP_KEY: KEY,
				MODELFLEET_SERVING_THREADS: String(variant.servingThreads),
			});
			children.push(allInOne);
			const base = `http://127.0.0.1:${port}`;
			await waitUntil(
				`the ${variant.name} node`,
				async () => (await fetch(`${base}/health/ready`)).status === 200,
			);
			await setUpModels(base, modelFile);
			const targets = setUpTargets(variant.name, base, [allInOne]);
			results.push(...(await measureTargets(targets, hand, values, SCENARIOS)));
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
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "error",
				// Every node of a fleet signs and verifies caller identities with it.
				MODELFLEET_FLEET_SECRET: randomBytes(32).toString("hex"),
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
			await setUpModels(gateway, modelFile);
			const targets = setUpTargets("fleet over NATS", gateway, fleet);
			results.push(...(await measureTargets(targets, hand, values, SCENARIOS)));
			await stop(fleet);
		}
	} finally {
		await stop(children);
		fs.rmSync(dir, { recursive: true, force: true });
	}
	return table(results);
}

/** Each process's median CPU per request over the runs. */
function byProcess(runs: readonly Measured[]): number[] | null {
	const all = runs.map(m => m.cpuMicrosByProcess).filter((v): v is number[] => v !== null);
	if (all.length === 0) return null;
	return all[0].map((_, i) => median(all.map(v => v[i])));
}

function summary(runs: readonly Measured[]): Measured {
	const of = (pick: (m: Measured) => number) => median(runs.map(pick));
	const cpu = runs.map(m => m.cpuMicrosPerReq).filter((v): v is number => v !== null);
	return {
		...runs[0],
		reqPerS: of(m => m.reqPerS),
		p50: of(m => m.p50),
		p99: of(m => m.p99),
		errors: runs.reduce((sum, m) => sum + m.errors, 0),
		cpuMicrosPerReq: cpu.length > 0 ? median(cpu) : null,
		cpuMicrosByProcess: byProcess(runs),
	};
}

function table(
	results: ReadonlyArray<{ target: string; scenario: Scenario; rounds: Round[] }>,
): string {
	const lines = [
		`### OIP load (autocannon; per row the median of ${ROUNDS} rounds of ${DURATION_S} s after ${WARMUP_S} s warm-up, each round right after one of the hand-rolled server's JSON with the same rows and connections)`,
		"",
		"| target | request | connections | req/s | rows/s | p50 ms | p99 ms | errors | server CPU µs/req | of which gateway + control + worker | rows/s vs hand-rolled JSON (median of rounds) |",
		"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
	];
	const row = (target: string, m: Measured, ratio: string) =>
		`| ${target} | ${m.scenario.name} | ${m.scenario.connections} | ${fixed(m.reqPerS, 0)} | ${fixed(m.reqPerS * m.scenario.rows, 0)} | ${fixed(m.p50, 1)} | ${fixed(m.p99, 1)} | ${m.errors} | ${m.cpuMicrosPerReq === null ? "" : fixed(m.cpuMicrosPerReq, 0)} | ${m.cpuMicrosByProcess !== null && m.cpuMicrosByProcess.length > 1 ? m.cpuMicrosByProcess.map(v => fixed(v, 0)).join(" + ") : ""} | ${ratio} |`;
	// The hand-rolled server's own rows: every reference measurement of that request shape.
	const references = new Map<string, Measured[]>();
	for (const r of results)
		for (const round of r.rounds)
			if (round.reference) {
				const key = scenarioKey(round.reference.scenario);
				references.set(key, [...(references.get(key) ?? []), round.reference]);
			}
	for (const r of results.filter(r => r.target === "hand-rolled")) {
		references.set(
			scenarioKey(r.scenario),
			r.rounds.map(round => round.target),
		);
	}
	for (const runs of references.values()) lines.push(row("hand-rolled", summary(runs), "1.00×"));
	for (const r of results.filter(r => r.target !== "hand-rolled")) {
		const ratios = r.rounds
			.filter(round => round.reference !== null)
			.map(
				round =>
					(round.target.reqPerS * r.scenario.rows) /
					((round.reference as Measured).reqPerS * r.scenario.rows),
			);
		const ratio = ratios.length > 0 ? `${fixed(median(ratios), 2)}×` : "";
		lines.push(row(r.target, summary(r.rounds.map(round => round.target)), ratio));
	}
	lines.push("", ...setupTable(results));
	return lines.join("\n");
}

/**
 * Deployed vs on demand, per server and request: the median of the per-round ratios of each
 * deployed set-up's req/s to the on-demand model's, measured in the same rounds.
 */
function setupTable(
	results: ReadonlyArray<{ target: string; scenario: Scenario; rounds: Round[] }>,
): string[] {
	const onDemand = MODEL_SETUPS[2].label;
	const lines: string[] = [];
	for (const r of results) {
		// "<server>, <set-up>": the server's name may hold a comma of its own, a set-up's does not.
		const cut = r.target.lastIndexOf(", ");
		if (cut < 0) continue;
		const server = r.target.slice(0, cut);
		const setup = r.target.slice(cut + 2);
		if (setup === onDemand) continue;
		const base = results.find(
			o => o.target === `${server}, ${onDemand}` && o.scenario === r.scenario,
		);
		if (!base) continue;
		const ratios = r.rounds.map(
			(round, i) => round.target.reqPerS / base.rounds[i].target.reqPerS,
		);
		const cpu = summary(r.rounds.map(round => round.target)).cpuMicrosPerReq;
		const baseCpu = summary(base.rounds.map(round => round.target)).cpuMicrosPerReq;
		const cpuCell =
			cpu !== null && baseCpu !== null
				? `${fixed(cpu, 0)} / ${fixed(baseCpu, 0)} = ${fixed(cpu / baseCpu, 2)}`
				: "";
		lines.push(
			`| ${server} | ${setup} | ${r.scenario.name} | ${r.scenario.connections} | ${fixed(median(ratios), 2)}× (${fixed(Math.min(...ratios), 2)} – ${fixed(Math.max(...ratios), 2)}) | ${cpuCell} |`,
		);
	}
	if (lines.length === 0) return [];
	return [
		"Deployed vs on demand (req/s of the deployed model over the on-demand one's, same rounds; median and range of the rounds):",
		"",
		"| server | deployed by | request | connections | req/s deployed / on demand | server CPU µs/req deployed / on demand |",
		"| --- | --- | --- | ---: | ---: | ---: |",
		...lines,
	];
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
