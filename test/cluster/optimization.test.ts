/**
 * An optimization job across a fleet of real processes over the real NATS server (a gateway, a
 * control node on PostgreSQL, two CPU workers with one trainer slot each): its trainer killed
 * with SIGKILL mid-job, the job goes back to the queue like a training job and runs again on
 * the other worker, which registers the optimized version. The latency sweep is made long
 * (MODELFLEET_OPTIMIZATION_SWEEP_MS) so the kill lands while the job runs.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { VersionView } from "../../lib/registry/version-store";
import type { JobView } from "../../lib/scheduler/job-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { freePort } from "../support/node-process";
import { trainerWorkerEnv, trainingJobsClient } from "../support/training-fleet";

const OWNER_KEY = `mf_optimization-test-${randomUUID()}`;
const WORKERS = ["worker-1", "worker-2"];
const DIGITS = path.join(__dirname, "..", "fixtures", "datasets", "digits.csv");

describeWithServices(["nats", "postgres"], "optimization jobs across a fleet", () => {
	const cluster = new FleetProcesses("optimization-test", FAST_LOOPS);
	let base: string;
	let database: { url: string; drop(): Promise<void> };

	const { request, waitForJob, trainersUp } = trainingJobsClient(cluster, () => base, OWNER_KEY);

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const port = await freePort();
		base = `http://127.0.0.1:${port}/api/v1`;
		cluster.start("gateway", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
		cluster.start("control", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});
		for (const name of WORKERS)
			cluster.start(
				name,
				"worker",
				trainerWorkerEnv({ MODELFLEET_OPTIMIZATION_SWEEP_MS: "3000" }),
			);
		await trainersUp(WORKERS);
		expect(
			(
				await request("/models", {
					method: "POST",
					body: { name: "digits", task: "classification", framework: "tfjs" },
				})
			).status,
		).toBe(201);
		const dataset = await fetch(`${base}/datasets?name=digits&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(DIGITS),
		});
		expect(dataset.status).toBe(201);
	}, 60_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it("runs an optimization job again on another trainer when its trainer is killed", async () => {
		const training = await request("/training-jobs", {
			method: "POST",
			body: {
				target: "digits",
				dataset: "digits",
				labelColumn: "label",
				epochs: 8,
				checkpointEvery: 0,
				seed: 7,
				model: { preset: "medium" },
			},
		});
		expect(training.status).toBe(201);
		const trained = await waitForJob(
			(training.body as JobView).id,
			"trained",
			v => v.state === "completed",
			40_000,
		);
		const source = (trained.result as { version: string }).version;

		const queued = await request(`/models/digits/versions/${source}/optimize`, {
			method: "POST",
			body: { recipe: "fp16" },
		});
		expect(queued.status).toBe(201);
		const id = (queued.body as JobView).id;
		// The sweep alone takes 4 × 3 s: the job is mid-run once it has reported progress.
		const running = await waitForJob(
			id,
			"running with progress",
			v => v.state === "running" && v.progress.length > 0,
			20_000,
		);
		const victim = running.nodeID!;
		expect(WORKERS).toContain(victim);
		cluster.get(victim).kill("SIGKILL");
		await cluster.get(victim).exited;

		const done = await waitForJob(id, "completed", v => v.state === "completed", 60_000);
		const survivor = WORKERS.find(w => w !== victim)!;
		expect(done.nodeID).toBe(survivor);
		expect(done.attempts).toBe(2);
		expect(done.failures).toEqual([
			expect.objectContaining({ nodeID: victim, reason: `trainer node ${victim} was lost` }),
		]);
		const result = done.result as { version: string; state: string };
		const version = (await request(`/models/digits/versions/${result.version}`))
			.body as VersionView;
		expect(version.lineage).toMatchObject({
			parentVersion: source,
			trainingJob: id,
			hyperparameters: { recipe: "fp16" },
		});
		expect(version.details).toMatchObject({ optimization: { nodeID: survivor } });
		// Exactly one optimized version: the killed run registered nothing.
		const versions = (await request("/models/digits/versions")).body as {
			items: VersionView[];
		};
		expect(versions.items.filter(v => v.lineage.parentVersion === source)).toHaveLength(1);
	}, 120_000);
});
