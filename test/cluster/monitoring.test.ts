/**
 * Monitoring in a fleet: gateway, control and worker as processes over the real NATS server.
 * The worker serving a deployment captures its traffic and flushes it to the control node's
 * scheduler; drift windows close there (a shift of three features flagged, those ranked top),
 * ground truth sent to the gateway closes a live-accuracy window, and health shows on the
 * deployment.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { SeededRandom } from "../../lib/datasets/seeded-random";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { deployAndWait, waitForWorkers } from "../support/fleet-api";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";

const OWNER_KEY = `mf_monitoring-${randomUUID()}`;
const FIXTURES = path.join(__dirname, "..", "fixtures");
const IRIS_CSV = fs.readFileSync(path.join(FIXTURES, "datasets", "iris.csv"), "utf8");
const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const ROWS = IRIS_CSV.trim()
	.split("\n")
	.slice(1)
	.map(line => line.split(",").slice(0, 4).map(Number));

interface Window {
	status: string;
	rows: number;
	report: { features: { name: string }[]; metrics?: { accuracy: number } };
}

describeWithServices(["nats", "postgres"], "monitoring in a fleet", () => {
	const cluster = new FleetProcesses("monitoring", {
		...FAST_LOOPS,
		MODELFLEET_MONITORING_INTERVAL_MS: "200",
		MODELFLEET_CAPTURE_FLUSH_MS: "100",
	});
	const random = new SeededRandom(5);
	let database: { url: string; drop(): Promise<void> };
	let api: string;
	let owner: ReturnType<typeof apiClient>;

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const base = await cluster.startBasicFleet({
			ownerKey: OWNER_KEY,
			databaseUrl: database.url,
		});
		api = `${base}/api/v1`;
		owner = apiClient(api, OWNER_KEY);
		await waitForWorkers(api, OWNER_KEY, ["worker"]).catch(cluster.failWithLogs);
		expect(
			(
				await owner("/models", {
					method: "POST",
					body: { name: "iris", task: "classification", framework: "xgboost" },
				})
			).status,
		).toBe(201);
		const upload = await fetch(
			`${api}/models/iris/versions/upload?version=1.0.0&state=Validated`,
			{
				method: "POST",
				headers: { authorization: `Bearer ${OWNER_KEY}` },
				body: fs.readFileSync(path.join(FIXTURES, "xgboost", "iris-multi-softprob.json")),
			},
		);
		expect(upload.status).toBe(201);
		const dataset = await fetch(`${api}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: IRIS_CSV,
		});
		expect(dataset.status).toBe(201);
		await deployAndWait(api, OWNER_KEY, "iris").catch(cluster.failWithLogs);
		const patched = await owner("/deployments/iris", {
			method: "PATCH",
			body: { monitoring: { captureRate: 1, referenceDataset: "iris", windowRows: 200 } },
		});
		expect(patched.status).toBe(200);
		// The worker learns the capture rate from the next routing table.
		await waitFor(
			"captured traffic",
			async () => {
				await send(1);
				const exported = await fetch(`${api}/deployments/iris/captures`, {
					headers: { authorization: `Bearer ${OWNER_KEY}` },
				});
				return (await exported.text()).length > 0 || undefined;
			},
			30_000,
		).catch(cluster.failWithLogs);
	}, 180_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	/** 10-row requests of iris rows drawn at random, shifted by `shift` (in the features' units). */
	async function send(requests: number, shift: Record<string, number> = {}) {
		const answers: { id: string; labels: string[] }[] = [];
		for (let r = 0; r < requests; r++) {
			const instances = Array.from({ length: 10 }, () => {
				const row = ROWS[random.int(ROWS.length)];
				return Object.fromEntries(FEATURES.map((f, j) => [f, row[j] + (shift[f] ?? 0)]));
			});
			const reply = await owner("/models/iris/predict", {
				method: "POST",
				body: { instances },
			});
			expect(reply.status).toBe(200);
			expect(reply.headers.get("x-modelfleet-node")).toBe("worker");
			const body = reply.body as {
				id: string;
				outputs: { data: number[]; shape: number[] }[];
			};
			const width = body.outputs[0].shape[1];
			const labels = instances.map((_, i) => {
				const p = body.outputs[0].data.slice(i * width, (i + 1) * width);
				return String(p.indexOf(Math.max(...p)));
			});
			answers.push({ id: body.id, labels });
		}
		return answers;
	}

	async function windows(kind: "windows" | "performance", atLeast: number): Promise<Window[]> {
		return waitFor(
			`${atLeast} ${kind} window(s)`,
			async () => {
				const body = (await owner("/deployments/iris/drift?limit=50")).body as Record<
					string,
					Window[]
				>;
				return body[kind].length >= atLeast ? body[kind] : undefined;
			},
			30_000,
		).catch(cluster.failWithLogs);
	}

	it("captures the worker's traffic and flags a shift of 3 features in a drift window", async () => {
		// A clean window (it also holds the start-up probe's rows), then a shifted one.
		const before = (await owner("/deployments/iris/drift")).body as { windows: Window[] };
		expect(before.windows).toEqual([]);
		await send(20);
		const clean = await windows("windows", 1);
		expect(clean[0].rows).toBeGreaterThanOrEqual(200);
		// The iris features' standard deviations: 0.83, 0.43, 1.76, 0.76 cm.
		await send(20, { sepal_length: 0.83, petal_length: 1.76, petal_width: -0.76 });
		await send(1, { sepal_length: 0.83, petal_length: 1.76, petal_width: -0.76 });
		const shifted = await windows("windows", 2);
		expect(shifted[0].status).toBe("drift");
		expect(
			shifted[0].report.features
				.slice(0, 3)
				.map(f => f.name)
				.sort(),
		).toEqual(["petal_length", "petal_width", "sepal_length"]);
	});

	it("closes a live-accuracy window from ground truth sent through the gateway", async () => {
		const answers = await send(20);
		// Right for 7 rows in 10: a live accuracy of exactly 0.7.
		const items = answers.flatMap(a =>
			a.labels.map((label, row) => ({ id: a.id, row, label: row < 7 ? label : "wrong" })),
		);
		await waitFor(
			"the captured predictions",
			async () => {
				const sent = await owner("/models/iris/feedback", {
					method: "POST",
					body: { items },
				});
				return (sent.body as { accepted: number }).accepted === 200 || undefined;
			},
			30_000,
		).catch(cluster.failWithLogs);
		const [window] = await windows("performance", 1);
		expect(window.rows).toBe(200);
		expect(window.report.metrics?.accuracy).toBe(0.7);
	});

	it("shows the deployment's health", async () => {
		const health = await waitFor(
			"health",
			async () => {
				const body = (await owner("/deployments/iris")).body as {
					health: { score: number } | null;
				};
				return body.health ?? undefined;
			},
			30_000,
		).catch(cluster.failWithLogs);
		expect(health.score).toBeGreaterThanOrEqual(0);
		expect(health.score).toBeLessThanOrEqual(100);
	});
});
