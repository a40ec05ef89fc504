/**
 * A study across a fleet of real processes over the real NATS server: a gateway, a control node
 * (PostgreSQL) and two CPU workers with one trainer slot each. The same seeded ASHA study runs
 * twice: once undisturbed, once with a trainer killed (SIGKILL) while one of its trials trains.
 * The killed trial resumes from its checkpoint on the other trainer, and the study ends with the
 * same trials, the same rungs, the same best trial and value, and a registered version.
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

const OWNER_KEY = `mf_studies-cluster-${randomUUID()}`;
const WORKERS = ["worker-1", "worker-2"];

describeWithServices(["nats", "postgres"], "a study across a fleet, with a trainer killed", () => {
	const cluster = new FleetProcesses("studies-test", FAST_LOOPS);
	let database: { url: string; drop(): Promise<void> };
	let api: string;

	const { request, studyCompleted } = trainingJobsClient(cluster, () => api, OWNER_KEY);

	const studyRequest = {
		target: "digits",
		base: { dataset: "digits", labelColumn: "label", epochs: 8, batchSize: 16, seed: 3 },
		space: {
			learningRate: { type: "loguniform", min: 0.001, max: 0.05 },
			units: { type: "choice", values: [16, 64] },
		},
		objective: { metric: "val_accuracy" },
		budget: { trials: 6 },
		parallelism: 2,
		searcher: { type: "asha", minEpochs: 2, reductionFactor: 2 },
		seed: 99,
	};

	beforeAll(async () => {
		database = await createPostgresDatabase();
		api = await startTrainingFleet(cluster, {
			databaseUrl: database.url,
			ownerKey: OWNER_KEY,
			workers: WORKERS,
		});
		await createModelWithDataset(api, OWNER_KEY, "digits");
	}, 90_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it("ends with the same trials and best trial when a trainer dies mid-study", async () => {
		const undisturbed = await request("/studies", { method: "POST", body: studyRequest });
		expect(undisturbed.status).toBe(201);
		const reference = await studyCompleted((undisturbed.body as StudyView).id, 60_000);

		const disturbed = await request("/studies", { method: "POST", body: studyRequest });
		const id = (disturbed.body as StudyView).id;
		// A trial segment two epochs into its run on a worker: kill that worker.
		const victim = await waitFor(
			"a trial training on a worker",
			async () => {
				const runs = (await request(`/runs?study=${id}`)).body as {
					items: { id: string }[];
				};
				for (const run of runs.items) {
					const job = (await request(`/training-jobs/${run.id}`)).body as JobView;
					if (job.state === "running" && job.nodeID && job.progress.length >= 1)
						return job;
				}
				return undefined;
			},
			30_000,
			100,
		).catch(cluster.failWithLogs);
		cluster.get(victim.nodeID!).kill("SIGKILL");
		await cluster.get(victim.nodeID!).exited;

		const study = await studyCompleted(id, 60_000);
		const resumed = (await request(`/training-jobs/${victim.id}`)).body as JobView;
		expect(resumed.state).toBe("completed");
		expect(resumed.failures).toEqual([expect.objectContaining({ nodeID: victim.nodeID })]);

		expect(trialOutcomes(study)).toEqual(trialOutcomes(reference));
		expect(study.trials).toHaveLength(6);
		expect(study.best).toMatchObject({
			trial: reference.best!.trial,
			rung: reference.best!.rung,
			value: reference.best!.value,
		});
		expect(study.best?.version).toMatch(/^\d+\.\d+\.\d+$/);
		expect(study.best?.version).not.toBe(reference.best?.version);
	}, 150_000);
});
