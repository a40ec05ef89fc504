/**
 * Data-parallel training on the 8×8 digits fixture (1,797 rows, 64 features, 10 classes) in a
 * real fleet over the NATS server: a gateway, a control node (PostgreSQL) and two CPU workers
 * with one trainer slot each (wasm), as `npm run bench -- data-parallel` starts them. The same
 * job (64 → 128 → 64 → 10 relu, no dropout, adam, seed 7) runs with `workers: 1` and
 * `workers: 2`, at batch 32 and 128, ROUNDS times each, the worker counts alternating.
 *
 * Per run: the test accuracy of the version it registered; samples/s (train rows / epoch time,
 * validation included, the median of the epochs after the first); and for two workers the
 * gradient exchange's cost as rank 0 measures it: ms per step (wall time around the exchange,
 * the mean over the epochs after the first) and payload bytes over the bus per step.
 * The nodes share this machine's cores: two workers do not get twice the CPU here.
 *
 *     npm run bench -- data-parallel    (needs NATS on 4222 and PostgreSQL on 5432)
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { JobView } from "../lib/scheduler/job-store";
import { createPostgresDatabase } from "../test/support/databases";
import { FAST_LOOPS, FleetProcesses } from "../test/support/fleet-processes";
import { freePort, waitUntil } from "./support/processes";
import { fixed, median } from "./support/stats";

const ROUNDS = Math.max(1, Number(process.env.BENCH_DATA_PARALLEL_ROUNDS ?? 2));
const EPOCHS = 10;
const BATCH_SIZES = [32, 128];
const WORKERS = ["worker-1", "worker-2"];
const KEY = `mf_bench-data-parallel-${randomUUID()}`;
const DIGITS = path.join(__dirname, "..", "test", "fixtures", "datasets", "digits.csv");

interface Run {
	workers: number;
	batchSize: number;
	accuracy: number;
	samplesPerSecond: number;
	commMsPerStep: number | null;
	commBytesPerStep: number | null;
	wallS: number;
}

async function call(base: string, route: string, method = "GET", body?: unknown) {
	const response = await fetch(`${base}/api/v1${route}`, {
		method,
		headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	if (response.status >= 300)
		throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
	return response.json() as Promise<unknown>;
}

/** The fleet up with two trainers, the digits model and dataset in it; its base URL. */
async function startFleet(cluster: FleetProcesses, databaseUrl: string): Promise<string> {
	const port = await freePort();
	cluster.start("gateway", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
	cluster.start("control", "control", {
		DATABASE_URL: databaseUrl,
		MODELFLEET_BOOTSTRAP_KEY: KEY,
	});
	for (const name of WORKERS)
		cluster.start(name, "worker", {
			MODELFLEET_CPUS: "2",
			MODELFLEET_MEMORY: "4GiB",
			MODELFLEET_GPUS: "none",
			MODELFLEET_TRAINER_SLOTS: "1",
			MODELFLEET_TRAINING_BACKEND: "wasm",
		});
	const base = `http://127.0.0.1:${port}`;
	await waitUntil("two trainers", async () => {
		const nodes = (await call(base, "/nodes")) as Array<{
			nodeID: string;
			available: boolean;
			services: string[];
		}>;
		return WORKERS.every(w =>
			nodes.some(n => n.nodeID === w && n.available && n.services.includes("trainer")),
		);
	});
	await call(base, "/models", "POST", {
		name: "digits",
		task: "classification",
		framework: "tfjs",
	});
	const upload = await fetch(`${base}/api/v1/datasets?name=digits&labelColumn=label`, {
		method: "POST",
		headers: { authorization: `Bearer ${KEY}`, "content-type": "text/csv" },
		body: fs.readFileSync(DIGITS),
	});
	if (upload.status !== 201) throw new Error(`dataset upload answered ${upload.status}`);
	return base;
}

/** Trains one job to its end and reads its figures. */
async function trainOnce(base: string, workers: number, batchSize: number): Promise<Run> {
	const queued = (await call(base, "/training-jobs", "POST", {
		target: "digits",
		dataset: "digits",
		labelColumn: "label",
		model: {
			layers: [
				{ units: 128, activation: "relu" },
				{ units: 64, activation: "relu" },
			],
		},
		learningRate: 0.005,
		batchSize,
		epochs: EPOCHS,
		checkpointEvery: 0,
		seed: 7,
		workers,
	})) as JobView;
	let job = queued;
	await waitUntil(
		`job ${queued.id}`,
		async () => {
			job = (await call(base, `/training-jobs/${queued.id}`)) as JobView;
			return job.state === "completed" || job.state === "failed";
		},
		300_000,
	).catch((err: unknown) => {
		throw new Error(`${(err as Error).message}: ${JSON.stringify(job)}`);
	});
	if (job.state === "failed") throw new Error(`job ${job.id} failed: ${job.error}`);
	const after = job.progress.slice(1);
	const comm = after.map(p => p.communication).filter(c => c !== undefined);
	return {
		workers,
		batchSize,
		accuracy: (job.result as { metrics: { accuracy: number } }).metrics.accuracy,
		samplesPerSecond: median(after.map(p => p.samplesPerSecond)),
		commMsPerStep:
			comm.length > 0 ? comm.reduce((s, c) => s + c.msPerStep, 0) / comm.length : null,
		commBytesPerStep: comm.length > 0 ? comm[0].bytesPerStep : null,
		wallS: (Date.parse(job.finishedAt ?? "") - Date.parse(job.startedAt ?? "")) / 1000,
	};
}

function table(runs: readonly Run[]): string {
	const lines = [
		"| batch | workers | test accuracy | samples/s | comm ms/step | comm bytes/step | job wall s |",
		"| ----: | ------: | ------------- | --------: | -----------: | --------------: | ---------: |",
	];
	for (const batchSize of BATCH_SIZES) {
		for (const workers of [1, 2]) {
			const mine = runs.filter(r => r.batchSize === batchSize && r.workers === workers);
			const ms = mine.map(r => r.commMsPerStep).filter((v): v is number => v !== null);
			lines.push(
				`| ${batchSize} | ${workers} | ${mine.map(r => r.accuracy.toFixed(4)).join(", ")} | ` +
					`${fixed(median(mine.map(r => r.samplesPerSecond)), 0)} | ` +
					`${ms.length > 0 ? fixed(median(ms), 2) : "—"} | ` +
					`${mine[0].commBytesPerStep ?? "—"} | ${fixed(median(mine.map(r => r.wallS)), 1)} |`,
			);
		}
	}
	return lines.join("\n");
}

/** Runs the benchmark and returns its Markdown table. */
export async function runDataParallel(): Promise<string> {
	const database = await createPostgresDatabase();
	// The production heartbeat timeout: scoring and exporting a trained network block a
	// trainer's event loop for seconds on a loaded machine, longer than the tests' 3 s.
	const cluster = new FleetProcesses("bench-data-parallel", {
		...FAST_LOOPS,
		MODELFLEET_HEARTBEAT_TIMEOUT_S: "15",
	});
	try {
		const base = await startFleet(cluster, database.url);
		const runs: Run[] = [];
		for (let round = 0; round < ROUNDS; round++)
			for (const batchSize of BATCH_SIZES)
				for (const workers of round % 2 === 0 ? [1, 2] : [2, 1])
					runs.push(await trainOnce(base, workers, batchSize));
		return table(runs);
	} catch (err) {
		throw new Error(`${(err as Error).message}\n${cluster.logs()}`);
	} finally {
		await cluster.killAll();
		await database.drop();
	}
}

if (require.main === module) {
	runDataParallel().then(
		t => console.log(t),
		(error: unknown) => {
			console.error(error);
			process.exitCode = 1;
		},
	);
}
