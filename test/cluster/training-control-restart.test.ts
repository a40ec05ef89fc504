/**
 * Training through a control-plane outage, over the real NATS server: a gateway, a control node
 * (PostgreSQL) and two CPU workers with one trainer slot each. The control node is killed with
 * SIGKILL while a job trains and started again ~10 s later on the same database. What the
 * trainer could not report meanwhile (checkpoints, its version, its completion) reaches the
 * control plane once it is back: a plain job completes once, on its first attempt, with one
 * version registered; a seeded study ends with the same trials and best trial as undisturbed.
 */
import { randomUUID } from "node:crypto";
import type { JobView } from "../../lib/scheduler/job-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { createModelWithDataset } from "../support/model-with-dataset";
import {
	startTrainingFleet,
	trainingJobsClient,
	trialOutcomes,
	type StudyView,
} from "../support/training-fleet";
import { waitFor } from "../support/wait";

const OWNER_KEY = `mf_train-restart-${randomUUID()}`;
const WORKERS = ["worker-1", "worker-2"];
const OUTAGE_MS = 10_000;

describeWithServices(["nats", "postgres"], "training through a control node restart", () => {
	const cluster = new FleetProcesses("train-restart", FAST_LOOPS);
	let database: { url: string; drop(): Promise<void> };
	let api: string;

	const { request } = trainingJobsClient(cluster, () => api, OWNER_KEY);

	/** Kills the control node, waits out the outage and starts it again on the same database. */
	async function restartControl(): Promise<void> {
		cluster.get("control").kill("SIGKILL");
		await cluster.get("control").exited;
		await new Promise(resolve => setTimeout(resolve, OUTAGE_MS));
		cluster.start("control", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});
	}

	/** Polls `GET path` until `done` says so (errors while the control node is down are retried). */
	function until<T>(what: string, path: string, done: (body: T) => boolean, ms: number) {
		return waitFor(
			what,
			async () => {
				const reply = await request(path);
				if (reply.status !== 200) return undefined;
				const body = reply.body as T & { state?: string; error?: string };
				if (body.state === "failed") throw new Error(`failed: ${body.error}`);
				return done(body) ? body : undefined;
			},
			ms,
			200,
		).catch(cluster.failWithLogs);
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		api = await startTrainingFleet(cluster, {
			databaseUrl: database.url,
			ownerKey: OWNER_KEY,
			workers: WORKERS,
		});
		await createModelWithDataset(api, OWNER_KEY, "digits");
		await createModelWithDataset(api, OWNER_KEY, "iris");
	}, 90_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it("completes a training job once, with its version, when the control node restarts mid-job", async () => {
		const queued = await request("/training-jobs", {
			method: "POST",
			body: {
				target: "digits",
				dataset: "digits",
				labelColumn: "label",
				epochs: 12,
				batchSize: 16,
				checkpointEvery: 2,
				seed: 5,
			},
		});
		expect(queued.status).toBe(201);
		const id = (queued.body as JobView).id;
		await until<JobView>(
			`job ${id} training`,
			`/training-jobs/${id}`,
			j => j.epoch >= 1,
			30_000,
		);
		await restartControl();

		const done = await until<JobView>(
			`job ${id} completed`,
			`/training-jobs/${id}`,
			j => j.state === "completed",
			60_000,
		);
		expect(done.attempts).toBe(1);
		expect(done.failures).toEqual([]);
		const version = (done.result as { version: string }).version;
		expect(version).toMatch(/^\d+\.\d+\.\d+$/);
		const versions = (await request("/models/digits/versions")).body as {
			items: { version: string; description: string }[];
		};
		expect(versions.items.filter(v => v.description.includes(id))).toEqual([
			expect.objectContaining({ version }),
		]);
	}, 120_000);

	it("ends a study with the same trials and best trial when the control node restarts mid-study", async () => {
		const studyRequest = {
			target: "iris",
			base: { dataset: "iris", labelColumn: "label", epochs: 40, batchSize: 8, seed: 3 },
			space: { learningRate: { type: "loguniform", min: 0.001, max: 0.05 } },
			objective: { metric: "val_accuracy" },
			budget: { trials: 4 },
			parallelism: 2,
			searcher: { type: "random" },
			seed: 17,
		};
		const studyDone = (id: string) =>
			until<StudyView>(
				`study ${id} completed`,
				`/studies/${id}`,
				s => s.state === "completed",
				90_000,
			);
		const reference = await studyDone(
			((await request("/studies", { method: "POST", body: studyRequest })).body as StudyView)
				.id,
		);

		const id = (
			(await request("/studies", { method: "POST", body: studyRequest })).body as StudyView
		).id;
		await until<StudyView>(
			`study ${id} training`,
			`/studies/${id}`,
			s => s.trials.length >= 1,
			30_000,
		);
		await restartControl();
		const study = await studyDone(id);

		expect(trialOutcomes(study)).toEqual(trialOutcomes(reference));
		expect(study.trials).toHaveLength(4);
		expect(study.best).toMatchObject({
			trial: reference.best!.trial,
			value: reference.best!.value,
		});
		expect(study.best?.version).toMatch(/^\d+\.\d+\.\d+$/);
	}, 150_000);
});
