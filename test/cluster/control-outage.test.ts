/**
 * The data plane outlives the control plane. One gateway, one control node, one worker holding
 * a deployed model, steady predict load; the control node is killed with SIGKILL, stays dead
 * for 30 s, and is started again on the same database. No prediction fails and none takes a
 * second: the gateway accepts the key it verified before from its cache, the worker serves the
 * version it resolved before, and the routing table is the one the gateway already holds.
 * Model creation during the outage answers 503 CONTROL_UNAVAILABLE, quickly, saying why;
 * once the control node is back it works again. The gateway stays ready (it serves), naming the
 * control services it lacks as degraded. The fleet runs Moleculer's default heartbeat
 * (15 s timeout), so nothing here can lean on the heartbeat noticing the dead node.
 */
import { randomUUID } from "node:crypto";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { deployAndWait, publishModel, waitForWorkers } from "../support/fleet-api";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { PredictLoad } from "../support/predict-load";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_outage-${randomUUID()}`;
/** Moleculer's own defaults, as a production fleet runs. */
const DEFAULT_HEARTBEAT = {
	MODELFLEET_HEARTBEAT_INTERVAL_S: "5",
	MODELFLEET_HEARTBEAT_TIMEOUT_S: "15",
};
const CLIENTS = 4;
const OUTAGE_MS = 30_000;

describeWithServices(
	["nats", "postgres"],
	"predictions while the only control node is down",
	() => {
		const cluster = new FleetProcesses("outage", { ...FAST_LOOPS, ...DEFAULT_HEARTBEAT });
		let database: { url: string; drop(): Promise<void> };
		let base: string;
		let api: string;
		const startControl = () =>
			cluster.start("control", "control", {
				DATABASE_URL: database.url,
				MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
			});

		beforeAll(async () => {
			database = await createPostgresDatabase();
			base = await cluster.startBasicFleet({
				ownerKey: OWNER_KEY,
				databaseUrl: database.url,
				workers: ["worker"],
			});
			api = `${base}/api/v1`;
			await waitForWorkers(api, OWNER_KEY, ["worker"]).catch(cluster.failWithLogs);
			await publishModel(api, OWNER_KEY, "mlp", writeMlpModel());
			await deployAndWait(api, OWNER_KEY, "mlp").catch(cluster.failWithLogs);
		}, 120_000);

		afterAll(async () => {
			await cluster.killAll();
			await database?.drop();
		});

		/** Creates a model; its status, body and how long the answer took. */
		async function createModel(name: string) {
			const started = performance.now();
			const reply = await apiClient(api, OWNER_KEY)("/models", {
				method: "POST",
				body: { name, task: "classification", framework: "onnx" },
			});
			return { ...reply, ms: performance.now() - started };
		}

		it("loses no prediction and keeps every one under 1 s through a 30 s control outage and restart", async () => {
			const load = new PredictLoad(base, OWNER_KEY, "mlp", CLIENTS);
			await new Promise(resolve => setTimeout(resolve, 3000));
			const beforeKill = load.count;
			cluster.get("control").kill("SIGKILL");
			await cluster.get("control").exited;

			// Well into the outage (the key's 10 s cache long expired): a write says why it fails.
			await new Promise(resolve => setTimeout(resolve, 12_000));
			const refused = await createModel("during-outage");
			// The REST predict route serves from the same caches.
			const restPredict = await apiClient(api, OWNER_KEY)("/models/mlp/predict", {
				method: "POST",
				body: { instances: [[1, 2, 3, 4]] },
			});
			await new Promise(resolve => setTimeout(resolve, OUTAGE_MS - 12_000));
			const duringOutage = load.count - beforeKill;
			// Past the heartbeat timeout the control services are gone from the registry: the
			// gateway still serves, so it stays in its load balancer, and says what it lacks.
			const ready = await fetch(`${base}/health/ready`);
			const readyBody = (await ready.json()) as Record<string, unknown>;
			const v2Ready = await fetch(`${base}/v2/health/ready`);

			startControl();
			await waitFor(
				"model creation working again with the control node back",
				async () => ((await createModel("after-outage")).status === 201 ? true : undefined),
				60_000,
				500,
			).catch(cluster.failWithLogs);
			const atRestart = load.count;
			await new Promise(resolve => setTimeout(resolve, 3000));
			const report = await load.stop("control outage");
			console.log(
				`${report.summary}; ${duringOutage} during the outage, ${report.requests - atRestart} after the restart; ` +
					`model creation during the outage: ${refused.status} in ${refused.ms.toFixed(0)} ms`,
			);

			expect(restPredict.status).toBe(200);
			expect({ status: ready.status, body: readyBody }).toMatchObject({
				status: 200,
				body: {
					ready: true,
					missing: [],
					degraded: expect.arrayContaining(["accounts", "registry", "scheduler"]),
				},
			});
			expect(v2Ready.status).toBe(200);
			expect(refused.status).toBe(503);
			expect(refused.body).toMatchObject({
				type: "CONTROL_UNAVAILABLE",
				message: expect.stringMatching(/No control node answers.*registry/),
			});
			expect(refused.ms).toBeLessThan(5000);
			expect(report.failures.slice(0, 5)).toEqual([]);
			expect(duringOutage).toBeGreaterThan(100);
			expect(report.requests - atRestart).toBeGreaterThan(10);
			expect(report.maxMs).toBeLessThan(1000);
		}, 150_000);
	},
);
