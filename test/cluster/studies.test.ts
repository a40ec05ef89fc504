/**
 * A study across a fleet of real processes over the real NATS server: a gateway, a control node
 * (PostgreSQL) and two CPU workers with one trainer slot each. The same seeded ASHA study runs
 * twice: once undisturbed, once with a trainer killed (SIGKILL) while one of its trials trains.
 * The killed trial resumes from its checkpoint on the other trainer, and the study ends with the
 * same trials, the same rungs, the same best trial and value, and a registered version.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { JobView } from "../../lib/scheduler/job-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";

const OWNER_KEY = `mf_studies-cluster-${randomUUID()}`;
const WORKERS = ["worker-1", "worker-2"];

interface Study {
	id: string;
	state: string;
	error: string | null;
	best: { trial: number; rung: number; value: number; version?: string } | null;
	trials: {
		trial: number;
		rung: number;
		value: number | null;
		params: Record<string, unknown>;
		jobs: string[];
	}[];
}

describeWithServices(["nats", "postgres"], "a study across a fleet, with a trainer killed", () => {
	const cluster = new FleetProcesses("studies-test", FAST_LOOPS);
	let database: { url: string; drop(): Promise<void> };
	let request: ReturnType<typeof apiClient>;

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

	const studyOf = async (id: string) => (await request(`/studies/${id}`)).body as Study;

	function completed(id: string): Promise<Study> {
		return waitFor(
			`study ${id} completed`,
			async () => {
				const study = await studyOf(id);
				if (study.state === "failed") throw new Error(`the study failed: ${study.error}`);
				return study.state === "completed" ? study : undefined;
			},
			60_000,
			200,
		).catch(cluster.failWithLogs);
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const base = await cluster.startBasicFleet({
			databaseUrl: database.url,
			ownerKey: OWNER_KEY,
			workers: WORKERS,
			workerEnv: { MODELFLEET_TRAINER_SLOTS: "1", MODELFLEET_TRAINING_BACKEND: "wasm" },
		});
		request = apiClient(`${base}/api/v1`, OWNER_KEY);
		await waitFor(
			"two trainers",
			async () => {
				const nodes = await request("/nodes");
				const list = (nodes.status === 200 ? nodes.body : []) as {
					nodeID: string;
					available: boolean;
					services: string[];
				}[];
				return (
					WORKERS.every(w =>
						list.some(
							n => n.nodeID === w && n.available && n.services.includes("trainer"),
						),
					) || undefined
				);
			},
			60_000,
			250,
		).catch(cluster.failWithLogs);
		expect(
			(
				await request("/models", {
					method: "POST",
					body: { name: "digits", task: "classification", framework: "tfjs" },
				})
			).status,
		).toBe(201);
		const upload = await fetch(`${base}/api/v1/datasets?name=digits&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(path.join(__dirname, "..", "fixtures", "datasets", "digits.csv")),
		});
		expect(upload.status).toBe(201);
	}, 90_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it("ends with the same trials and best trial when a trainer dies mid-study", async () => {
		const undisturbed = await request("/studies", { method: "POST", body: studyRequest });
		expect(undisturbed.status).toBe(201);
		const reference = await completed((undisturbed.body as Study).id);

		const disturbed = await request("/studies", { method: "POST", body: studyRequest });
		const id = (disturbed.body as Study).id;
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

		const study = await completed(id);
		const resumed = (await request(`/training-jobs/${victim.id}`)).body as JobView;
		expect(resumed.state).toBe("completed");
		expect(resumed.failures).toEqual([expect.objectContaining({ nodeID: victim.nodeID })]);

		const shape = (s: Study) =>
			s.trials.map(t => ({ trial: t.trial, rung: t.rung, value: t.value, params: t.params }));
		expect(shape(study)).toEqual(shape(reference));
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
