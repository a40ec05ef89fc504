/**
 * Every event of lib/events.ts, heard on an all-in-one node by a listener service in its
 * broker, with its payload checked against what caused it: the registry's model, version and
 * alias events, artifact storage, deployments (placement, model.deployed/retired, autoscaling),
 * the predictor's cache and failures, the agent's node status, and the training queue and
 * trainer. The last test fails when an event is added to EVENTS without a test here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Context, ServiceBroker } from "moleculer";
import { EVENTS, type EventPayloads } from "../../lib/events";
import type { VersionView } from "../../lib/registry/version-store";
import type { JobView } from "../../lib/scheduler/job-store";
import {
	FAST_LOOPS_CPU_ONLY,
	startTestNode,
	type TestNode,
	type TestRequestInit,
} from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = "mf_domain-events-test-owner-key";
const IRIS = path.join(__dirname, "..", "fixtures", "datasets", "iris.csv");

type EventName = keyof EventPayloads;
interface Heard<E extends EventName = EventName> {
	event: E;
	payload: EventPayloads[E];
}

describe("domain events on an all-in-one node", () => {
	let testNode: TestNode;
	let broker: ServiceBroker;
	let tenant: string;
	let keyId: string;
	const heard: Heard[] = [];
	const request = (url: string, init?: TestRequestInit) => testNode.request(url, init);

	/** The first event `event` heard (since `from`, an index into `heard`) that `match` accepts. */
	function waitForEvent<E extends EventName>(
		event: E,
		match: (payload: EventPayloads[E]) => boolean = () => true,
		from = 0,
	): Promise<EventPayloads[E]> {
		return waitFor(
			`event ${event}`,
			() =>
				heard
					.slice(from)
					.find((h): h is Heard<E> => h.event === event && match(h.payload as never))
					?.payload,
			15_000,
			25,
		);
	}

	/** Every `event` heard since `from`. */
	const all = <E extends EventName>(event: E, from = 0): Array<EventPayloads[E]> =>
		heard
			.slice(from)
			.filter((h): h is Heard<E> => h.event === event)
			.map(h => h.payload);

	async function createModel(name: string, framework = "onnx"): Promise<string> {
		const created = await request("/models", {
			method: "POST",
			body: { name, task: "classification", framework },
		});
		expect(created.status).toBe(201);
		return (created.body as { id: string }).id;
	}

	async function uploadVersion(model: string, version: string, state: string) {
		const response = await fetch(
			`${testNode.api}/models/${model}/versions/upload?version=${version}&fileName=mlp.onnx&state=${state}`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${OWNER_KEY}`,
					"content-type": "application/octet-stream",
				},
				body: writeMlpModel(),
			},
		);
		expect(response.status).toBe(201);
		return (await response.json()) as VersionView;
	}

	async function transition(model: string, version: string, to: string): Promise<void> {
		const reply = await request(`/models/${model}/versions/${version}/transition`, {
			method: "POST",
			body: { to },
		});
		expect(reply.status).toBe(200);
	}

	const predictBody = {
		inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
	};
	const predict = (model: string) =>
		request(`/models/${model}/predict`, { method: "POST", body: predictBody });

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			MODELFLEET_TRAINER_SLOTS: "1",
			MODELFLEET_MONITORING_INTERVAL_MS: "100",
			MODELFLEET_CAPTURE_FLUSH_MS: "50",
			MODELFLEET_PREDICTION_EVENTS_INTERVAL_S: "0.5",
			// A changed quota applies within this, rather than the default 10 s.
			MODELFLEET_ACCOUNTS_CACHE_MS: "500",
		});
		broker = testNode.node.broker;
		const events: Record<string, (ctx: Context) => void> = {};
		for (const event of Object.values(EVENTS)) {
			events[event] = (ctx: Context) => {
				heard.push({ event, payload: ctx.params as never });
			};
		}
		await broker.createService({ name: "event-listener", events });
		await broker.waitForServices(["event-listener"]);
		tenant = ((await request("/tenant")).body as { id: string }).id;
		const keys = (await request("/keys")).body as Array<{ id: string }>;
		expect(keys).toHaveLength(1);
		keyId = keys[0].id;
	}, 30_000);

	afterAll(() => testNode?.stop());

	it("node.status: the agent's figures for its own node", async () => {
		const status = await waitForEvent(EVENTS.nodeStatus, s => s.nodeID === broker.nodeID);
		expect(status).toMatchObject({
			nodeID: broker.nodeID,
			at: expect.any(Number),
			uptimeS: expect.any(Number),
			cpuLoad: expect.any(Number),
			memoryFreeBytes: expect.any(Number),
			processRssBytes: expect.any(Number),
			eventLoopDelayMs: expect.any(Number),
			inFlight: expect.any(Number),
			gpus: [],
			serving: expect.objectContaining({ modelsLoaded: expect.any(Number) }),
		});
		expect(Math.abs(status.at - Date.now())).toBeLessThan(60_000);
	});

	it("model.created, model.updated, model.deleted: the model, its tenant and the key that acted", async () => {
		const modelId = await createModel("short-lived");
		const expected = { tenant, keyId, model: "short-lived", modelId };
		expect(await waitForEvent(EVENTS.modelCreated, e => e.model === "short-lived")).toEqual(
			expected,
		);

		const updated = await request("/models/short-lived", {
			method: "PATCH",
			body: { description: "renamed nothing" },
		});
		expect(updated.status).toBe(200);
		expect(await waitForEvent(EVENTS.modelUpdated, e => e.model === "short-lived")).toEqual(
			expected,
		);

		expect((await request("/models/short-lived", { method: "DELETE" })).status).toBe(200);
		expect(await waitForEvent(EVENTS.modelDeleted, e => e.model === "short-lived")).toEqual(
			expected,
		);
	});

	it("version.created, artifact.stored, version.updated, version.transitioned, alias.moved, alias.deleted", async () => {
		await createModel("mlp");
		const version = await uploadVersion("mlp", "1.0.0", "Trained");
		const versionEvent = {
			tenant,
			keyId,
			model: "mlp",
			version: "1.0.0",
			versionId: version.id,
		};
		expect(await waitForEvent(EVENTS.versionCreated, e => e.model === "mlp")).toEqual({
			...versionEvent,
			state: "Trained",
		});
		expect(
			await waitForEvent(EVENTS.artifactStored, e => e.sha256 === version.artifact?.sha256),
		).toEqual(version.artifact);

		const patched = await request("/models/mlp/versions/1.0.0", {
			method: "PATCH",
			body: { description: "the example MLP" },
		});
		expect(patched.status).toBe(200);
		expect(await waitForEvent(EVENTS.versionUpdated, e => e.model === "mlp")).toEqual({
			...versionEvent,
			state: "Trained",
		});

		await transition("mlp", "1.0.0", "Validated");
		expect(await waitForEvent(EVENTS.versionTransitioned, e => e.model === "mlp")).toEqual({
			...versionEvent,
			state: "Validated",
			from: "Trained",
		});

		const aliased = await request("/models/mlp/aliases/stable", {
			method: "PUT",
			body: { version: "1.0.0" },
		});
		expect(aliased.status).toBe(200);
		expect(await waitForEvent(EVENTS.aliasMoved, e => e.alias === "stable")).toEqual({
			tenant,
			keyId,
			model: "mlp",
			alias: "stable",
			version: "1.0.0",
			previous: null,
		});
		expect((await request("/models/mlp/aliases/stable", { method: "DELETE" })).status).toBe(
			200,
		);
		expect(await waitForEvent(EVENTS.aliasDeleted, e => e.alias === "stable")).toEqual({
			tenant,
			keyId,
			model: "mlp",
			alias: "stable",
			version: null,
			previous: null,
		});
	});

	it("model.deployed, placement.changed, model.loaded; then model.evicted and model.retired", async () => {
		const from = heard.length;
		const created = await request("/deployments", {
			method: "POST",
			body: { model: "mlp", version: "1.0.0", replicas: 1 },
		});
		expect(created.status).toBe(201);
		const versionId = ((await request("/models/mlp/versions/1.0.0")).body as { id: string }).id;
		const deployed = await waitForEvent(EVENTS.modelDeployed, e => e.model === "mlp", from);
		expect(deployed).toEqual({
			tenant,
			keyId,
			model: "mlp",
			version: "1.0.0",
			versionId,
			state: "Deployed",
			from: "Validated",
		});
		// Deployed is a transition too.
		await waitForEvent(
			EVENTS.versionTransitioned,
			e => e.model === "mlp" && e.state === "Deployed",
			from,
		);

		const placed = await waitForEvent(
			EVENTS.placementChanged,
			table => table.deployments.some(d => d.model === "mlp" && d.replicas.length > 0),
			from,
		);
		expect(placed.deployments).toEqual([
			{
				deploymentId: (created.body as { id: string }).id,
				tenant,
				model: "mlp",
				traffic: [{ version: "1.0.0", weight: 100 }],
				shadow: null,
				captureRate: 0,
				replicas: [broker.nodeID],
			},
		]);

		const key = `${tenant}/mlp@1.0.0`;
		const loaded = await waitForEvent(EVENTS.modelLoaded, e => e.key === key, from);
		expect(loaded).toEqual({
			nodeID: broker.nodeID,
			key,
			bytes: expect.any(Number),
			ms: expect.any(Number),
		});
		expect(loaded.bytes).toBeGreaterThan(0);
		expect((await predict("mlp")).status).toBe(200);

		const undeployed = heard.length;
		expect((await request("/deployments/mlp", { method: "DELETE" })).status).toBe(200);
		expect(await waitForEvent(EVENTS.modelEvicted, e => e.key === key, undeployed)).toEqual({
			nodeID: broker.nodeID,
			key,
			bytes: loaded.bytes,
			reason: "unload",
		});
		await waitForEvent(
			EVENTS.placementChanged,
			table => table.deployments.length === 0,
			undeployed,
		);

		// By hand this time.
		await transition("mlp", "1.0.0", "Deployed");
		await transition("mlp", "1.0.0", "Retired");
		expect(await waitForEvent(EVENTS.modelRetired, e => e.model === "mlp")).toEqual({
			tenant,
			keyId,
			model: "mlp",
			version: "1.0.0",
			versionId,
			state: "Retired",
			from: "Deployed",
		});
		// Only Deployed and Retired have events of their own.
		expect(all(EVENTS.modelDeployed).map(e => [e.state, e.keyId])).toEqual([
			["Deployed", keyId],
			["Deployed", keyId],
		]);
		expect(all(EVENTS.modelRetired).map(e => e.state)).toEqual(["Retired"]);
	});

	it("autoscaling.triggered: an idle deployment scaled to its minimum of 0, with the reason", async () => {
		await createModel("idle");
		await uploadVersion("idle", "1.0.0", "Validated");
		const created = await request("/deployments", {
			method: "POST",
			body: {
				model: "idle",
				replicas: 1,
				minReplicas: 0,
				maxReplicas: 1,
				autoscaling: { targetOngoingRequests: 1, downscaleDelayS: 0.2 },
			},
		});
		expect(created.status).toBe(201);
		const scaled = await waitForEvent(EVENTS.autoscalingTriggered, e => e.model === "idle");
		expect(scaled).toEqual({
			tenant,
			model: "idle",
			deploymentId: (created.body as { id: string }).id,
			from: 1,
			to: 0,
			reason: expect.stringMatching(/ongoing 0/),
		});
		expect((await request("/deployments/idle", { method: "DELETE" })).status).toBe(200);
	});

	it("prediction.summary: a model version's predictions counted per interval, never one event per request", async () => {
		await createModel("summarised");
		await uploadVersion("summarised", "1.0.0", "Validated");
		for (let i = 0; i < 3; i++) expect((await predict("summarised")).status).toBe(200);
		const bad = await request("/models/summarised/predict", {
			method: "POST",
			body: { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] },
		});
		expect(bad.status).toBe(400);
		const summaries = () => all(EVENTS.predictionSummary).filter(e => e.model === "summarised");
		await waitFor(
			"four requests summarised",
			() => (summaries().reduce((n, e) => n + e.requests, 0) >= 4 ? true : undefined),
			15_000,
			50,
		);
		const answered = summaries().filter(e => e.version === "1.0.0");
		expect(answered.reduce((n, e) => n + e.completed, 0)).toBe(3);
		const failed = summaries().reduce((n, e) => n + e.failed, 0);
		expect(failed).toBe(1);
		const failures = summaries().flatMap(e => Object.entries(e.failures));
		expect(failures).toEqual([[(bad.body as { type: string }).type, 1]]);
		for (const e of summaries()) {
			expect(e).toMatchObject({ nodeID: broker.nodeID, tenant });
			expect(e.requests).toBe(e.completed + e.failed);
			expect(Date.parse(e.to)).toBeGreaterThanOrEqual(Date.parse(e.from));
		}
		// Fewer summaries than requests: counted, not one per request.
		expect(summaries().length).toBeLessThan(4);
		// And each is a durable event of the tenant's event log (written as it is emitted).
		const inLog = async () => {
			const page = (await request("/events?type=prediction.summary&limit=500")).body as {
				items: Array<{ event: { data: { model: string } } }>;
			};
			return page.items.filter(i => i.event.data.model === "summarised").length;
		};
		await waitFor(
			"the summaries in the event log",
			async () => ((await inLog()) === summaries().length ? true : undefined),
			5000,
			50,
		);
	});

	it("prediction.failed: a model whose stored file is damaged fails on the server, and says so", async () => {
		await createModel("damaged");
		const version = await uploadVersion("damaged", "1.0.0", "Validated");
		const sha256 = version.artifact!.sha256;
		const blob = fs
			.readdirSync(path.join(testNode.dataDir, "artifacts"), {
				recursive: true,
				withFileTypes: true,
			})
			.find(entry => entry.isFile() && entry.name.includes(sha256));
		expect(blob).toBeDefined();
		const file = path.join(blob!.parentPath, blob!.name);
		fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 7));

		const reply = await predict("damaged");
		expect(reply.status).toBeGreaterThanOrEqual(500);
		const failed = await waitForEvent(EVENTS.predictionFailed, e => e.model === "damaged");
		expect(failed).toEqual({
			nodeID: broker.nodeID,
			tenant,
			model: "damaged",
			version: null,
			type: (reply.body as { type: string }).type,
			message: expect.any(String),
		});
		// A caller's mistake is not an event.
		const before = all(EVENTS.predictionFailed).length;
		expect((await predict("no-such-model")).status).toBe(404);
		expect(all(EVENTS.predictionFailed)).toHaveLength(before);
	});

	it("job.queued, training.started, .progress, .checkpoint, .completed: a short job's course", async () => {
		await createModel("iris", "tfjs");
		const dataset = await fetch(`${testNode.api}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(IRIS),
		});
		expect(dataset.status).toBe(201);
		const queued = await request("/training-jobs", {
			method: "POST",
			body: {
				target: "iris",
				dataset: "iris",
				labelColumn: "label",
				epochs: 2,
				checkpointEvery: 1,
				seed: 3,
				priority: 7,
			},
		});
		expect(queued.status).toBe(201);
		const jobId = (queued.body as JobView).id;
		const base = { jobId, tenant, model: "iris" };
		const ofJob = (e: { jobId: string }) => e.jobId === jobId;

		expect(await waitForEvent(EVENTS.jobQueued, ofJob)).toEqual({
			...base,
			priority: 7,
			gpu: false,
		});
		const completed = await waitForEvent(EVENTS.trainingCompleted, ofJob);
		expect(completed).toEqual({
			...base,
			nodeID: broker.nodeID,
			version: expect.any(String),
			state: expect.stringMatching(/^(Trained|Validated)$/),
			metrics: expect.objectContaining({ accuracy: expect.any(Number) }),
			bestEpoch: expect.any(Number),
			epochsRun: 2,
			stoppedEarly: false,
			// What a control node that missed the progress reports records from (attempt-fenced).
			attempt: 1,
			lastEpoch: {
				epoch: 2,
				metrics: expect.objectContaining({ val_loss: expect.any(Number) }),
			},
			checkpoint: {
				epoch: 2,
				sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
				size: expect.any(Number),
			},
		});
		const registered = await request(`/models/iris/versions/${completed.version}`);
		expect(registered.body).toMatchObject({ state: completed.state });

		expect(all(EVENTS.trainingStarted).filter(ofJob)).toEqual([
			{
				...base,
				nodeID: broker.nodeID,
				fromEpoch: 1,
				backend: expect.any(String),
				device: expect.any(String),
			},
		]);
		const progress = all(EVENTS.trainingProgress)
			.filter(ofJob)
			.sort((a, b) => a.epoch - b.epoch);
		expect(progress.map(p => [p.epoch, p.epochs])).toEqual([
			[1, 2],
			[2, 2],
		]);
		for (const p of progress) {
			expect(p).toEqual({
				...base,
				nodeID: broker.nodeID,
				epoch: p.epoch,
				epochs: 2,
				metrics: expect.objectContaining({ loss: expect.any(Number) }),
				samplesPerSecond: expect.any(Number),
				etaMs: expect.any(Number),
			});
		}
		// Each checkpoint's event goes out once its upload is done: not always in epoch order.
		const checkpoints = all(EVENTS.trainingCheckpoint)
			.filter(ofJob)
			.sort((a, b) => a.epoch - b.epoch);
		expect(checkpoints.map(c => c.epoch)).toEqual([1, 2]);
		for (const c of checkpoints) {
			expect(c).toEqual({
				...base,
				nodeID: broker.nodeID,
				epoch: c.epoch,
				sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
				size: expect.any(Number),
			});
		}
		// The scheduler keeps the newest checkpoint the event named.
		await waitFor(
			"the job's newest checkpoint",
			async () => {
				const job = (await request(`/training-jobs/${jobId}`)).body as JobView;
				return job.checkpoint?.sha256 === checkpoints[1].sha256 ? true : undefined;
			},
			10_000,
		);
	}, 60_000);

	it("training.failed: a job whose dataset file is gone fails on its trainer, for good", async () => {
		await createModel("lost", "tfjs");
		const dataset = await fetch(`${testNode.api}/datasets?name=lost&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: "a,b,label\n" + "1,2,x\n3,4,y\n".repeat(20),
		});
		expect(dataset.status).toBe(201);
		const { sha256 } = (await dataset.json()) as { sha256: string };
		const blob = fs
			.readdirSync(path.join(testNode.dataDir, "artifacts"), {
				recursive: true,
				withFileTypes: true,
			})
			.find(entry => entry.isFile() && entry.name.includes(sha256));
		fs.rmSync(path.join(blob!.parentPath, blob!.name));

		const queued = await request("/training-jobs", {
			method: "POST",
			body: { target: "lost", dataset: "lost", labelColumn: "label" },
		});
		expect(queued.status).toBe(201);
		const jobId = (queued.body as JobView).id;
		const failed = await waitForEvent(EVENTS.trainingFailed, e => e.jobId === jobId);
		expect(failed).toEqual({
			jobId,
			tenant,
			model: "lost",
			nodeID: broker.nodeID,
			reason: expect.stringMatching(/dataset file/),
			final: true,
			// The attempt the trainer reported: a late report of an earlier one is ignored.
			attempt: 1,
		});
	});

	it("node.forgotten: an admin forgets a lost node, and every node drops it", async () => {
		// A worker this node saw once, then lost (as a kill -9 leaves it).
		broker.registry.nodes.processNodeInfo({
			sender: "ghost-worker",
			instanceID: "ghost",
			services: [],
			ipList: [],
			hostname: "ghost",
			client: { type: "nodejs", version: "0.15.2", langVersion: "v24" },
			config: {},
			seq: 1,
			metadata: {
				modelfleet: {
					role: "worker",
					version: "0.1.0",
					startedAt: new Date().toISOString(),
					capacity: { cpus: 2, memoryBytes: 4 * 1024 ** 3, gpus: [] },
					httpUrl: null,
					metricsUrl: null,
				},
			},
		});
		broker.registry.nodes.disconnected("ghost-worker", true);
		const from = heard.length;
		const forgotten = await request("/nodes/ghost-worker", { method: "DELETE" });
		expect(forgotten).toMatchObject({ status: 200, body: { forgotten: "ghost-worker" } });
		expect(await waitForEvent(EVENTS.nodeForgotten, () => true, from)).toEqual({
			nodeID: "ghost-worker",
			reason: "operator",
		});
		expect(broker.registry.nodes.get("ghost-worker")).toBeUndefined();
	});

	it("tenant.resource_limit_exceeded: a quota refuses a request, naming the quota, its limit and use", async () => {
		const quotas = `/tenants/${tenant}/quotas`;
		expect((await request(quotas, { method: "PUT", body: { models: 0 } })).status).toBe(200);
		const from = heard.length;
		const refused = await request("/models", {
			method: "POST",
			body: { name: "over-quota", task: "classification", framework: "onnx" },
		});
		expect(refused).toMatchObject({ status: 403, body: { type: "RESOURCE_LIMIT_EXCEEDED" } });
		const current = (refused.body as { data: { current: number } }).data.current;
		expect(await waitForEvent(EVENTS.resourceLimitExceeded, () => true, from)).toEqual({
			tenant,
			keyId,
			nodeID: broker.nodeID,
			quota: "models",
			kind: "size",
			limit: 0,
			current,
		});
		// A rate quota refuses on the gateway: that refusal is a durable event too, like this one.
		expect(
			(await request(quotas, { method: "PUT", body: { predictionsPerMinute: 0 } })).status,
		).toBe(200);
		// The gateway trusts the quotas it read for MODELFLEET_ACCOUNTS_CACHE_MS: it refuses once it
		// reads them again.
		await waitFor(
			"a prediction refused for the rate quota",
			async () => ((await predict("summarised")).status === 429 ? true : undefined),
			20_000,
			200,
		);
		const logged = await waitFor(
			"both refusals in the event log",
			async () => {
				const page = (
					await request("/events?type=tenant.resource_limit_exceeded&limit=500")
				).body as { items: Array<{ event: { data: { quota: string } } }> };
				const quotasSeen = page.items.map(i => i.event.data.quota);
				return quotasSeen.includes("models") && quotasSeen.includes("predictionsPerMinute")
					? quotasSeen
					: undefined;
			},
			10_000,
			50,
		);
		expect(logged).toEqual(expect.arrayContaining(["models", "predictionsPerMinute"]));
		expect((await request(quotas, { method: "PUT", body: {} })).status).toBe(200);
		// The tests after this one predict: wait until the gateway has read the lifted quota.
		await waitFor(
			"predictions accepted again",
			async () => ((await predict("summarised")).status === 200 ? true : undefined),
			20_000,
			200,
		);
	});
	it("model.drift_detected, model.performance_degraded, model.health_check: a monitored deployment's shifted traffic and wrong answers", async () => {
		const irisCsv = fs.readFileSync(IRIS, "utf8");
		const names = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
		const rows = irisCsv
			.trim()
			.split("\n")
			.slice(1)
			.map(line => line.split(",").slice(0, 4).map(Number));
		await createModel("watched", "xgboost");
		const upload = await fetch(
			`${testNode.api}/models/watched/versions/upload?version=1.0.0&state=Validated`,
			{
				method: "POST",
				headers: { authorization: `Bearer ${OWNER_KEY}` },
				body: fs.readFileSync(
					path.join(__dirname, "..", "fixtures", "xgboost", "iris-multi-softprob.json"),
				),
			},
		);
		expect(upload.status).toBe(201);
		// The version's test accuracy: what live accuracy is compared with.
		const patched = await request("/models/watched/versions/1.0.0", {
			method: "PATCH",
			body: { metrics: [{ name: "accuracy", value: 0.97, dataset: { split: "test" } }] },
		});
		expect(patched.status).toBe(200);
		const dataset = await fetch(`${testNode.api}/datasets?name=watched&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: irisCsv,
		});
		expect(dataset.status).toBe(201);
		const deployed = await request("/deployments", {
			method: "POST",
			body: {
				model: "watched",
				replicas: 1,
				monitoring: { captureRate: 1, referenceDataset: "watched", windowRows: 100 },
			},
		});
		expect(deployed.status).toBe(201);
		await waitFor(
			"the watched replica",
			async () =>
				((await request("/deployments/watched")).body as { readyReplicas: number })
					.readyReplicas === 1,
			30_000,
		);
		const from = heard.length;
		// Petal length and width 3 cm longer than any iris: drift.
		const ids: string[] = [];
		for (let r = 0; r < 10; r++) {
			const instances = rows
				.slice(r * 10, r * 10 + 10)
				.map(row =>
					Object.fromEntries(names.map((n, j) => [n, row[j] + (j >= 2 ? 3 : 0)])),
				);
			const reply = await request("/models/watched/predict", {
				method: "POST",
				body: { instances },
			});
			expect(reply.status).toBe(200);
			ids.push((reply.body as { id: string }).id);
		}
		const drift = await waitForEvent(EVENTS.driftDetected, e => e.model === "watched", from);
		expect(drift).toMatchObject({
			tenant,
			model: "watched",
			rows: 100,
			baseline: "dataset watched@1",
		});
		expect([...drift.drifted].sort()).toEqual(
			expect.arrayContaining(["petal_length", "petal_width"]),
		);
		// Truth for all 100 rows, and every label a class the model did not answer: accuracy 0.
		const items = ids.flatMap(id =>
			Array.from({ length: 10 }, (_, row) => ({ id, row, label: "no-such-class" })),
		);
		await waitFor(
			"the captures",
			async () => {
				const sent = await request("/models/watched/feedback", {
					method: "POST",
					body: { items },
				});
				return (sent.body as { accepted: number }).accepted === 100 || undefined;
			},
			10_000,
		);
		const degraded = await waitForEvent(
			EVENTS.performanceDegraded,
			e => e.model === "watched",
			from,
		);
		expect(degraded).toMatchObject({
			tenant,
			model: "watched",
			version: "1.0.0",
			rows: 100,
			margin: 0.05,
		});
		expect(degraded.metrics.find(m => m.name === "accuracy")).toMatchObject({
			live: 0,
			reference: 0.97,
			degraded: true,
		});
		const health = await waitForEvent(
			EVENTS.healthCheck,
			e => e.model === "watched" && e.parts.find(p => p.name === "accuracy")?.score === 0,
			from,
		);
		expect(health).toMatchObject({ tenant, model: "watched", status: "unhealthy" });
		expect(health.parts.map(p => p.name)).toEqual(["errors", "latency", "drift", "accuracy"]);
		expect((await request("/deployments/watched", { method: "DELETE" })).status).toBe(200);
	}, 60_000);

	it("heard every event of lib/events.ts (a new event needs a test above)", () => {
		const names = new Set(heard.map(h => h.event));
		expect(Object.values(EVENTS).filter(event => !names.has(event))).toEqual([]);
	});
});
