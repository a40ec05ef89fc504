/**
 * Data-parallel training across real processes over the real NATS server: a gateway, a control
 * node (PostgreSQL) and two CPU workers with one trainer slot each. A digits job with
 * `workers: 2` trains replicas on both, exchanging gradients every step through rank 0, and
 * reaches the test accuracy of the same job on one worker (within a point), reporting its
 * communication cost per step; a job that asks for more trainers than are connected is refused
 * naming the field. Killing a gang's rank 1, and then (the worker started again) a gang's
 * rank 0, mid-job: the attempt ends and the job finishes from its last checkpoint on the
 * remaining worker.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { JobView } from "../../lib/scheduler/job-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { freePort } from "../support/node-process";
import { trainerWorkerEnv, trainingJobsClient } from "../support/training-fleet";

const OWNER_KEY = `mf_data-parallel-test-${randomUUID()}`;
const WORKERS = ["worker-1", "worker-2"];
const FIXTURES = path.join(__dirname, "..", "fixtures", "datasets");

describeWithServices(["nats", "postgres"], "data-parallel training across a fleet", () => {
	// A longer heartbeat timeout than the tests' 3 s: scoring and exporting a trained network
	// block a trainer's event loop for seconds on a loaded machine, and the fleet would take
	// it for lost. A killed worker is seen lost after it all the same.
	const cluster = new FleetProcesses("data-parallel-test", {
		...FAST_LOOPS,
		MODELFLEET_HEARTBEAT_TIMEOUT_S: "8",
	});
	let base: string;
	let database: { url: string; drop(): Promise<void> };

	const startWorker = (name: string) => cluster.start(name, "worker", trainerWorkerEnv());
	const { request, enqueue, waitForJob, completed, trainersUp } = trainingJobsClient(
		cluster,
		() => base,
		OWNER_KEY,
	);
	const bothTrainersUp = () => trainersUp(WORKERS);

	/** Digits, no dropout: with one worker or two, the same gradients up to float rounding. */
	const digits = (over: Record<string, unknown> = {}) => ({
		target: "digits",
		dataset: "digits",
		labelColumn: "label",
		model: { preset: "medium" },
		learningRate: 0.005,
		batchSize: 32,
		epochs: 10,
		checkpointEvery: 0,
		seed: 17,
		...over,
	});

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const port = await freePort();
		base = `http://127.0.0.1:${port}/api/v1`;
		cluster.start("gateway", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
		cluster.start("control", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});
		for (const name of WORKERS) startWorker(name);
		await bothTrainersUp();
		const model = await request("/models", {
			method: "POST",
			body: { name: "digits", task: "classification", framework: "tfjs" },
		});
		expect(model.status).toBe(201);
		const dataset = await fetch(`${base}/datasets?name=digits&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(path.join(FIXTURES, "digits.csv")),
		});
		expect(dataset.status).toBe(201);
	}, 60_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it("trains digits on 2 workers to the test accuracy of 1 worker, with the cost per step recorded", async () => {
		const refused = await request("/training-jobs", {
			method: "POST",
			body: digits({ workers: 3 }),
		});
		expect(refused.status).toBe(400);
		expect(refused.body).toMatchObject({
			message: expect.stringMatching(/workers: 3 asked for, but 2 trainers are connected/),
			data: { field: "workers" },
		});

		const one = await enqueue(digits());
		const two = await enqueue(digits({ workers: 2 }));
		const [single, parallel] = await Promise.all([
			completed(one.id, 60_000),
			completed(two.id, 60_000),
		]);
		expect(parallel).toMatchObject({ workers: 2, attempts: 1 });
		const gang = parallel.gang ?? [];
		expect(gang.toSorted()).toEqual(WORKERS);
		expect(parallel.nodeID).toBe(gang[0]);
		// Rank 0 reports every epoch.
		expect(parallel.progress.map(p => [p.epoch, p.nodeID])).toEqual(
			Array.from({ length: 10 }, (_, i) => [i + 1, parallel.nodeID]),
		);
		const accuracy = (view: JobView) =>
			(view.result as { metrics: { accuracy: number } }).metrics.accuracy;
		expect(accuracy(single)).toBeGreaterThan(0.9);
		expect(Math.abs(accuracy(parallel) - accuracy(single))).toBeLessThanOrEqual(0.01);

		// 64 → 64 → 32 → 10: 6570 weights and biases plus 3 trailing values, 4 bytes each,
		// sent by rank 1 and answered to it.
		const bytesPerStep = 2 * 4 * (64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10 + 3);
		for (const p of parallel.progress)
			expect(p.communication).toEqual({
				workers: 2,
				msPerStep: expect.any(Number),
				bytesPerStep,
			});
		expect(parallel.progress[0].communication!.msPerStep).toBeGreaterThan(0);
		expect(single.progress[0].communication).toBeUndefined();
		expect(parallel.result).toMatchObject({
			dataParallel: { workers: 2, samplesPerSecond: expect.any(Number), bytesPerStep },
		});
		const version = await request(
			`/models/digits/versions/${(parallel.result as { version: string }).version}`,
		);
		expect(version.body).toMatchObject({
			lineage: { seed: 17, hyperparameters: { workers: 2 } },
		});
	}, 90_000);

	/** Kills the gang's rank `rank` mid-job, sees the job finish; answers the node killed. */
	async function killMidJob(rank: 0 | 1): Promise<string> {
		const checkpointEvery = 3;
		const queued = await enqueue(
			digits({ workers: 2, epochs: 18, checkpointEvery, seed: 23 + rank }),
		);
		const before = await waitForJob(
			queued.id,
			"an epoch past its first checkpoint",
			v =>
				v.state === "running" && v.checkpoint !== null && v.epoch >= v.checkpoint.epoch + 1,
			40_000,
		);
		const gang = before.gang ?? [];
		// A gang already broken here ran on without it: say how, with what the fleet logged.
		if (gang.length !== 2)
			cluster.failWithLogs(
				new Error(
					`The job runs without its gang of 2 before the kill: ${JSON.stringify({ ...before, progress: before.progress.length })}`,
				),
			);
		const victim = gang[rank];
		const survivor = gang[1 - rank];
		cluster.get(victim).kill("SIGKILL");
		await cluster.get(victim).exited;

		const done = await completed(queued.id, 60_000);
		expect(done).toMatchObject({ workers: 1, attempts: 2, nodeID: survivor, gang: [] });
		expect(done.failures).toHaveLength(1);
		expect(done.failures[0]).toMatchObject({ lostNodeID: victim });
		// The rest ran on the survivor alone, from the last checkpoint on.
		const resumed = done.progress.filter(p => p.nodeID === survivor && !p.communication);
		expect(resumed.length).toBeGreaterThan(0);
		expect((resumed[0].epoch - 1) % checkpointEvery).toBe(0);
		expect(resumed.at(-1)!.epoch).toBe(18);
		const accuracy = (done.result as { metrics: { accuracy: number } }).metrics.accuracy;
		expect(accuracy).toBeGreaterThan(0.9);
		return victim;
	}

	let killed = "";

	it("finishes a job whose rank 1 is killed mid-job on the remaining worker", async () => {
		killed = await killMidJob(1);
	}, 90_000);

	it("finishes a job whose rank 0 is killed mid-job on the remaining worker", async () => {
		startWorker(killed);
		await bothTrainersUp();
		await killMidJob(0);
	}, 120_000);
});
