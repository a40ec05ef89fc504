/**
 * Hyperparameter search on the digits fixture (1,797 rows, 64 features, 10 classes) across a
 * fleet over NATS: a gateway, a control node and two workers with one trainer slot each. The
 * same 24 trials (the same seed: trial i has the same point in both) run as a random search —
 * every trial to the last epoch — and as an ASHA study (r = 3, η = 2 unless BENCH_STUDIES_ETA) that stops the weaker ones at rungs.
 * Reported per searcher: the best validation accuracy, the epochs trained in all, the wall time,
 * and whether the best version, registered at the end, serves a prediction once deployed.
 *
 *     npm run bench -- studies
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, waitUntil } from "./support/processes";
import { fixed } from "./support/stats";

const ROOT = path.join(__dirname, "..");
const KEY = "mf_bench-studies-owner-key";
const DIGITS = path.join(ROOT, "test", "fixtures", "datasets", "digits.csv");
const TRIALS = Number(process.env.BENCH_STUDIES_TRIALS ?? 24);
const EPOCHS = 27;

const SPACE = {
	learningRate: { type: "loguniform", min: 0.0003, max: 0.1 },
	optimizer: { type: "choice", values: ["adam", "sgd", "rmsprop"] },
	units: { type: "choice", values: [16, 32, 64, 128] },
	layers: { type: "int", min: 1, max: 2 },
	dropout: { type: "uniform", min: 0, max: 0.3 },
	batchSize: { type: "choice", values: [16, 32, 64] },
};

/** BENCH_STUDIES_ETA: ASHA's reduction factor η (default 2). */
const ETA = Number(process.env.BENCH_STUDIES_ETA ?? 2);

const SEARCHERS = {
	random: { type: "random" },
	asha: { type: "asha", minEpochs: 3, reductionFactor: ETA },
} as const;

/** BENCH_STUDIES_ONLY=asha runs only those searchers (default both). */
const ONLY = (process.env.BENCH_STUDIES_ONLY ?? "random,asha").split(",");

function startNode(role: string, env: Record<string, string>): ChildProcess {
	return spawn(
		process.execPath,
		[
			"--require",
			path.join(ROOT, "scripts", "ts-register.js"),
			path.join(ROOT, "nodes", "cli.ts"),
			role,
		],
		{
			cwd: ROOT,
			env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
			stdio: ["ignore", "ignore", "inherit"],
		},
	);
}

interface Study {
	id: string;
	state: string;
	error: string | null;
	epochsRun: number;
	trialsStarted: number;
	best: { trial: number; rung: number; value: number; epochs: number; version?: string } | null;
}

async function call(
	api: string,
	method: string,
	url: string,
	body?: unknown,
): Promise<{ status: number; body: unknown }> {
	const response = await fetch(`${api}${url}`, {
		method,
		headers: {
			authorization: `Bearer ${KEY}`,
			...(body !== undefined ? { "content-type": "application/json" } : {}),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	return { status: response.status, body: await response.json().catch(() => null) };
}

async function runStudy(
	api: string,
	name: keyof typeof SEARCHERS,
): Promise<{ study: Study; seconds: number; serves: boolean }> {
	const started = performance.now();
	const created = await call(api, "POST", "/studies", {
		target: "digits",
		name: `digits-${name}`,
		base: { dataset: "digits", labelColumn: "label", epochs: EPOCHS, seed: 5 },
		space: SPACE,
		objective: { metric: "val_accuracy", direction: "max" },
		budget: { trials: TRIALS },
		parallelism: 2,
		searcher: SEARCHERS[name],
		seed: 2026,
	});
	if (created.status !== 201) throw new Error(`study refused: ${JSON.stringify(created.body)}`);
	const id = (created.body as Study).id;
	let study: Study | undefined;
	await waitUntil(
		`the ${name} study`,
		async () => {
			study = (await call(api, "GET", `/studies/${id}`)).body as Study;
			return study.state === "completed" || study.state === "failed";
		},
		30 * 60_000,
	);
	if (study?.state !== "completed")
		throw new Error(`the ${name} study ended ${study?.state}: ${study?.error}`);
	const seconds = (performance.now() - started) / 1000;
	const version = study!.best!.version!;
	await call(api, "POST", "/deployments", { model: "digits", version });
	let serves = false;
	await waitUntil("the best version to serve", async () => {
		const answer = await call(api, "POST", `/models/digits/versions/${version}/predict`, {
			instances: [Array.from({ length: 64 }, () => 0)],
		});
		serves = answer.status === 200;
		return serves;
	}).catch(() => undefined);
	await call(api, "DELETE", "/deployments/digits");
	return { study: study!, seconds, serves };
}

export async function runStudies(): Promise<string> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-studies-"));
	const common = {
		TRANSPORTER: process.env.TRANSPORTER ?? "nats://127.0.0.1:4222",
		MODELFLEET_NAMESPACE: `bench-studies-${process.pid}`,
		METRICS_PORT: "off",
		MODELFLEET_GRPC_PORT: "off",
		LOG_LEVEL: "error",
		MODELFLEET_FLEET_SECRET: randomBytes(32).toString("hex"),
		// A loaded 2-core machine can stall a node's event loop for seconds (evaluation and
		// importance of a trained version run on it): a generous heartbeat keeps such a node
		// from being taken for lost, which would re-run its trial elsewhere.
		MODELFLEET_HEARTBEAT_INTERVAL_S: "5",
		MODELFLEET_HEARTBEAT_TIMEOUT_S: "60",
	};
	const port = await freePort();
	const worker = (name: string) =>
		startNode("worker", {
			...common,
			MODELFLEET_DATA_DIR: path.join(dir, name),
			MODELFLEET_TRAINER_SLOTS: "1",
			MODELFLEET_TRAINING_BACKEND: "wasm",
			MODELFLEET_GPUS: "none",
		});
	const fleet = [
		startNode("gateway", {
			...common,
			PORT: String(port),
			HOST: "127.0.0.1",
			MODELFLEET_DATA_DIR: path.join(dir, "gateway"),
		}),
		startNode("control", {
			...common,
			MODELFLEET_DATA_DIR: path.join(dir, "control"),
			MODELFLEET_BOOTSTRAP_KEY: KEY,
		}),
		worker("worker-1"),
		worker("worker-2"),
	];
	const api = `http://127.0.0.1:${port}/api/v1`;
	try {
		await waitUntil(
			"two trainers",
			async () => {
				const nodes = (
					await call(api, "GET", "/nodes").catch(() => ({ status: 0, body: [] }))
				).body as { services?: string[] }[];
				return (
					Array.isArray(nodes) &&
					nodes.filter(n => n.services?.includes("trainer")).length >= 2
				);
			},
			60_000,
		);
		await call(api, "POST", "/models", {
			name: "digits",
			task: "classification",
			framework: "tfjs",
		});
		const upload = await fetch(`${api}/datasets?name=digits&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(DIGITS),
		});
		if (upload.status !== 201) throw new Error(`dataset refused: ${await upload.text()}`);
		const rows: string[] = [];
		const names = (Object.keys(SEARCHERS) as (keyof typeof SEARCHERS)[]).filter(n =>
			ONLY.includes(n),
		);
		for (const name of names) {
			const { study, seconds, serves } = await runStudy(api, name);
			const best = study.best!;
			rows.push(
				`| ${name} | ${study.trialsStarted} | ${fixed(best.value, 4)} (trial ${best.trial}, ${best.epochs} epochs) | ${study.epochsRun} | ${fixed(seconds, 0)} s | ${best.version} ${serves ? "serves" : "did NOT serve"} |`,
			);
			// Each row as it comes: a later failure keeps the earlier ones.
			console.error(rows[rows.length - 1]);
		}
		return [
			`Digits, ${TRIALS} trials of up to ${EPOCHS} epochs, 2 trainers (1 slot each), parallelism 2, study seed 2026; ASHA r = 3, η = ${ETA}.`,
			"",
			"| searcher | trials | best val_accuracy | epochs trained | wall time | best version |",
			"| -------- | -----: | ----------------- | -------------: | --------: | ------------ |",
			...rows,
		].join("\n");
	} finally {
		for (const child of fleet) child.kill("SIGTERM");
		await new Promise(resolve => setTimeout(resolve, 2000));
		for (const child of fleet) if (child.exitCode === null) child.kill("SIGKILL");
		fs.rmSync(dir, { recursive: true, force: true });
	}
}
