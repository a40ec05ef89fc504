/**
 * Training across a fleet of real processes over the real NATS server: a gateway, a control
 * node (PostgreSQL) and two CPU workers with one trainer slot each, later a GPU worker. A
 * trainer killed with SIGKILL mid-job costs at most the epochs since its last checkpoint: the
 * job resumes from it on the other worker and registers its version; with the one trainer left
 * busy, a high-priority job submitted after two low ones runs first; a GPU job waits on the
 * CPU-only fleet with its reason shown and runs on a GPU worker once one joins.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ServiceBroker } from "moleculer";
import type { TrainingStartedEvent } from "../../lib/events";
import type { VersionView } from "../../lib/registry/version-store";
import type { JobView } from "../../lib/scheduler/job-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { NodeProcess, freePort } from "../support/node-process";
import { trainerWorkerEnv, trainingJobsClient } from "../support/training-fleet";

const OWNER_KEY = `mf_training-test-${randomUUID()}`;
const CPU_WORKERS = ["worker-1", "worker-2"];
const FIXTURES = path.join(__dirname, "..", "fixtures", "datasets");

describeWithServices(["nats", "postgres"], "training across a fleet", () => {
	const cluster = new FleetProcesses("training-test", FAST_LOOPS);
	let base: string;
	let database: { url: string; drop(): Promise<void> };
	let observer: ServiceBroker;
	const started: TrainingStartedEvent[] = [];

	const startWorker = (name: string, gpus = "none"): NodeProcess =>
		cluster.start(name, "worker", trainerWorkerEnv({ MODELFLEET_GPUS: gpus }));
	const { request, job, enqueue, waitForJob, completed, trainersUp } = trainingJobsClient(
		cluster,
		() => base,
		OWNER_KEY,
	);

	/** A short iris job (about a second of training). */
	const iris = (over: Record<string, unknown> = {}) => ({
		target: "iris",
		dataset: "iris",
		labelColumn: "label",
		epochs: 5,
		checkpointEvery: 0,
		seed: 4,
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
		for (const name of CPU_WORKERS) startWorker(name);

		// A plain broker in the test joins the fleet to watch the trainers' events.
		observer = new ServiceBroker({
			namespace: cluster.namespace,
			nodeID: `observer-${randomUUID().slice(0, 6)}`,
			transporter: { type: "NATS", options: { servers: [serviceUrl("nats")] } },
			serializer: "CBOR",
			// The fleet's heartbeat settings: the nodes would otherwise drop it as lost after 3 s.
			heartbeatInterval: 1,
			heartbeatTimeout: 3,
			logger: false,
		});
		observer.createService({
			name: "observer",
			events: {
				"training.started"(ctx: { params: TrainingStartedEvent }) {
					started.push(ctx.params);
				},
			},
		});
		await observer.start();

		await trainersUp(CPU_WORKERS);
		for (const name of ["digits", "iris"]) {
			const model = await request("/models", {
				method: "POST",
				body: { name, task: "classification", framework: "tfjs" },
			});
			expect(model.status).toBe(201);
			const dataset = await fetch(`${base}/datasets?name=${name}&labelColumn=label`, {
				method: "POST",
				headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
				body: fs.readFileSync(path.join(FIXTURES, `${name}.csv`)),
			});
			expect(dataset.status).toBe(201);
		}
	}, 60_000);

	afterAll(async () => {
		await observer?.stop();
		await cluster.killAll();
		await database?.drop();
	});

	it("resumes a job from its last checkpoint on another trainer when its trainer is killed", async () => {
		const checkpointEvery = 4;
		const queued = await enqueue({
			target: "digits",
			dataset: "digits",
			labelColumn: "label",
			model: { preset: "large" },
			learningRate: 0.001,
			batchSize: 16,
			epochs: 24,
			checkpointEvery,
			seed: 11,
		});
		// Killed mid-way between two checkpoints: what it trained since the last one is lost.
		const before = await waitForJob(
			queued.id,
			"two epochs past its first checkpoint",
			v =>
				v.state === "running" &&
				v.checkpoint !== null &&
				v.checkpoint.epoch >= checkpointEvery &&
				v.epoch >= v.checkpoint.epoch + 2,
			30_000,
		);
		const victim = before.nodeID!;
		expect(CPU_WORKERS).toContain(victim);
		cluster.get(victim).kill("SIGKILL");
		await cluster.get(victim).exited;

		const done = await completed(queued.id, 45_000);
		const survivor = CPU_WORKERS.find(w => w !== victim)!;
		expect(done.nodeID).toBe(survivor);
		expect(done.attempts).toBe(2);
		expect(done.failures).toEqual([
			expect.objectContaining({ nodeID: victim, reason: `trainer node ${victim} was lost` }),
		]);

		// Epochs run on the victim, then on the survivor from the checkpoint on.
		const onVictim = done.progress.filter(p => p.nodeID === victim).map(p => p.epoch);
		const onSurvivor = done.progress.filter(p => p.nodeID === survivor).map(p => p.epoch);
		expect(onVictim.length + onSurvivor.length).toBe(done.progress.length);
		const lastOnVictim = Math.max(...onVictim);
		const resumedAt = onSurvivor[0];
		expect(resumedAt).toBeGreaterThan(1);
		expect((resumedAt - 1) % checkpointEvery).toBe(0);
		const rerun = lastOnVictim - (resumedAt - 1);
		expect(rerun).toBeGreaterThanOrEqual(0);
		expect(rerun).toBeLessThanOrEqual(checkpointEvery);
		expect(onSurvivor).toEqual(
			Array.from({ length: 24 - resumedAt + 1 }, (_, i) => resumedAt + i),
		);
		const starts = started.filter(e => e.jobId === queued.id);
		expect(starts.map(e => [e.nodeID, e.fromEpoch])).toEqual([
			[victim, 1],
			[survivor, resumedAt],
		]);

		const result = done.result as { version: string; metrics: { accuracy: number } };
		const version = (await request(`/models/digits/versions/${result.version}`))
			.body as VersionView;
		expect(version.lineage).toMatchObject({ trainingJob: queued.id, seed: 11 });
		expect(version.lineage?.hyperparameters).toMatchObject({ epochsRun: 24 });
		expect(version.metrics.find(m => m.name === "accuracy")?.value).toBe(
			result.metrics.accuracy,
		);
	}, 80_000);

	it("runs a high-priority job submitted after two low ones first while the trainer is busy", async () => {
		// One CPU trainer is left, with one slot.
		const blocker = await enqueue(iris({ epochs: 150, model: { preset: "large" } }));
		await waitForJob(blocker.id, "running", v => v.state === "running", 20_000);
		const low1 = await enqueue(iris({ priority: 0 }));
		const low2 = await enqueue(iris({ priority: 0 }));
		const high = await enqueue(iris({ priority: 10 }));
		const waiting = await waitForJob(
			high.id,
			"waiting with a reason",
			v => v.waitingReason !== null,
			5_000,
		);
		expect(waiting.waitingReason).toMatch(/every trainer is busy/);
		// The order is only a test of priority if the blocker still held the trainer.
		expect((await job(blocker.id)).state).toBe("running");

		const [b, l1, l2, h] = await Promise.all(
			[blocker, low1, low2, high].map(j => completed(j.id, 40_000)),
		);
		const at = (view: JobView) => Date.parse(view.startedAt ?? "");
		expect(at(b)).toBeLessThan(at(h));
		expect(at(h)).toBeLessThan(at(l1));
		expect(at(l1)).toBeLessThan(at(l2));
		const order = started
			.filter(e => [blocker.id, low1.id, low2.id, high.id].includes(e.jobId))
			.map(e => e.jobId);
		expect(order).toEqual([blocker.id, high.id, low1.id, low2.id]);
	}, 60_000);

	it("keeps a GPU job waiting on a CPU-only fleet, then runs it on a GPU worker that joins", async () => {
		const queued = await enqueue(iris({ resources: { gpu: true } }));
		const waiting = await waitForJob(
			queued.id,
			"waiting for a GPU",
			v => v.waitingReason !== null,
			5_000,
		);
		expect(waiting.state).toBe("queued");
		expect(waiting.waitingReason).toMatch(/no trainer with a GPU/);
		// Still waiting a moment later: the CPU trainer is idle, yet not used.
		await new Promise(resolve => setTimeout(resolve, 1000));
		expect(await job(queued.id)).toMatchObject({ state: "queued", attempts: 0 });

		startWorker(
			"worker-gpu",
			JSON.stringify([{ name: "NVIDIA H100 80GB HBM3", memory: "80GiB" }]),
		);
		const done = await completed(queued.id, 40_000);
		expect(done.nodeID).toBe("worker-gpu");
		expect(done.attempts).toBe(1);
		expect(new Set(done.progress.map(p => p.nodeID))).toEqual(new Set(["worker-gpu"]));
		expect(started.filter(e => e.jobId === queued.id).map(e => e.nodeID)).toEqual([
			"worker-gpu",
		]);
	}, 60_000);
});
