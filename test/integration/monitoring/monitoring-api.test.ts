/**
 * Monitoring through the gateway of an all-in-one node: a deployment that captures all its
 * traffic, prediction ids on every answer, drift windows against the reference dataset (a
 * shift of three features flagged, those ranked top), ground truth giving a live-accuracy
 * window, health on the deployment, the NDJSON export, and another tenant seeing none of it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import {
	startTestNode,
	FAST_LOOPS_CPU_ONLY,
	apiClient,
	type TestNode,
} from "../../support/test-node";
import { waitFor } from "../../support/wait";

const OWNER_KEY = "mf_monitoring-api-test-owner-key";
const FIXTURES = path.join(__dirname, "..", "..", "fixtures");
const IRIS_CSV = fs.readFileSync(path.join(FIXTURES, "datasets", "iris.csv"), "utf8");
const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const ROWS = IRIS_CSV.trim()
	.split("\n")
	.slice(1)
	.map(line => line.split(",").slice(0, 4).map(Number));

interface DriftWindow {
	id: number;
	rows: number;
	status: string;
	report: { features: { name: string; psi: number }[]; drifted: string[] };
}

describe("monitoring through the gateway", () => {
	let testNode: TestNode;
	const random = new SeededRandom(16);
	const request = (url: string, init?: Parameters<TestNode["request"]>[1]) =>
		testNode.request(url, init);

	/** 10-row requests of iris rows drawn at random, `shift` in stds added to the features named. */
	async function send(
		requests: number,
		shift: Record<string, number> = {},
		std: Record<string, number> = {},
	) {
		const answers: { id: string; rows: number[][]; probabilities: number[][] }[] = [];
		for (let r = 0; r < requests; r++) {
			const rows = Array.from({ length: 10 }, () =>
				ROWS[random.int(ROWS.length)].map(
					(v, j) => v + (shift[FEATURES[j]] ?? 0) * (std[FEATURES[j]] ?? 0),
				),
			);
			const reply = await request("/models/iris/predict", {
				method: "POST",
				body: {
					instances: rows.map(row =>
						Object.fromEntries(FEATURES.map((f, j) => [f, row[j]])),
					),
				},
			});
			expect(reply.status).toBe(200);
			const body = reply.body as {
				id: string;
				outputs: { data: number[]; shape: number[] }[];
			};
			expect(reply.headers.get("x-prediction-id")).toBe(body.id);
			const data = body.outputs[0].data;
			const width = body.outputs[0].shape[1];
			answers.push({
				id: body.id,
				rows,
				probabilities: rows.map((_, i) => data.slice(i * width, (i + 1) * width)),
			});
		}
		return answers;
	}

	const driftWindows = async () =>
		((await request("/deployments/iris/drift")).body as { windows: DriftWindow[] }).windows;

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			MODELFLEET_MONITORING_INTERVAL_MS: "100",
			MODELFLEET_CAPTURE_FLUSH_MS: "50",
		});
		expect(
			(
				await request("/models", {
					method: "POST",
					body: { name: "iris", task: "classification", framework: "xgboost" },
				})
			).status,
		).toBe(201);
		const upload = await fetch(
			`${testNode.api}/models/iris/versions/upload?version=1.0.0&state=Validated`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${OWNER_KEY}`,
					"content-type": "application/octet-stream",
				},
				body: fs.readFileSync(path.join(FIXTURES, "xgboost", "iris-multi-softprob.json")),
			},
		);
		expect(upload.status).toBe(201);
		const dataset = await fetch(`${testNode.api}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: IRIS_CSV,
		});
		expect(dataset.status).toBe(201);
		const deployed = await request("/deployments", {
			method: "POST",
			body: {
				model: "iris",
				replicas: 1,
				monitoring: {
					captureRate: 1,
					referenceDataset: "iris",
					windowRows: 200,
					latencySloMs: 1000,
				},
			},
		});
		expect(deployed.status).toBe(201);
		await waitFor(
			"the deployment's replica",
			async () =>
				((await request("/deployments/iris")).body as { readyReplicas: number })
					.readyReplicas === 1,
			30_000,
		);
	}, 60_000);

	afterAll(async () => {
		await testNode?.stop();
	});

	it("gives every answer a prediction id and captures it", async () => {
		const answers = await send(20);
		expect(new Set(answers.map(a => a.id)).size).toBe(20);
		const windows = await waitFor(
			"a drift window",
			async () => {
				const found = await driftWindows();
				return found.length >= 1 ? found : undefined;
			},
			15_000,
		);
		expect(windows[0]).toMatchObject({ rows: 200, status: "ok" });
		expect(windows[0].report.features.map(f => f.name).sort()).toEqual([...FEATURES].sort());
	});

	it("flags a 1-std shift of 3 features in the next full window, those 3 ranked top", async () => {
		const report = (await request("/datasets/iris")).body as {
			report: { columns: { name: string; std: number }[] };
		};
		const std = Object.fromEntries(report.report.columns.map(c => [c.name, c.std]));
		await send(20, { sepal_length: 1, sepal_width: 1, petal_width: -1 }, std);
		const windows = await waitFor(
			"a second drift window",
			async () => {
				const found = await driftWindows();
				return found.length >= 2 ? found : undefined;
			},
			15_000,
		);
		expect(windows[0].status).toBe("drift");
		expect(
			windows[0].report.features
				.slice(0, 3)
				.map(f => f.name)
				.sort(),
		).toEqual(["petal_width", "sepal_length", "sepal_width"]);
	});

	it("takes ground truth for captured predictions and closes a live-accuracy window", async () => {
		const answers = await send(20);
		// The truth: the class the model answered (its largest probability), as an index.
		const items = answers.flatMap(a =>
			a.probabilities.map((p, row) => ({
				id: a.id,
				row,
				label: String(p.indexOf(Math.max(...p))),
			})),
		);
		// Until all are captured (flushed every 50 ms) some come back unknown; sending a
		// prediction's truth again replaces it.
		const reply = await waitFor(
			"the captures",
			async () => {
				const sent = await request("/models/iris/feedback", {
					method: "POST",
					body: { items },
				});
				expect(sent.status).toBe(200);
				return (sent.body as { accepted: number }).accepted === 200 ? sent : undefined;
			},
			10_000,
		);
		expect(reply.body).toEqual({ accepted: 200, unknown: [] });
		const unknown = await request("/models/iris/feedback", {
			method: "POST",
			body: { items: [{ id: "never-predicted", label: "1" }] },
		});
		expect(unknown.body).toEqual({ accepted: 0, unknown: ["never-predicted"] });
		const performance = await waitFor(
			"a live-accuracy window",
			async () => {
				const body = (await request("/deployments/iris/drift")).body as {
					performance: {
						status: string;
						rows: number;
						report: { metrics: { accuracy: number } };
					}[];
				};
				return body.performance.length > 0 ? body.performance[0] : undefined;
			},
			15_000,
		);
		expect(performance).toMatchObject({ rows: 200, status: "ok" });
		expect(performance.report.metrics.accuracy).toBe(1);
	});

	it("shows health on the deployment and exports captures as NDJSON", async () => {
		const deployment = await waitFor(
			"health on the deployment",
			async () => {
				const body = (await request("/deployments/iris")).body as {
					health: { score: number; parts: unknown[] } | null;
				};
				return body.health ?? undefined;
			},
			15_000,
		);
		expect(deployment.score).toBeGreaterThanOrEqual(0);
		expect(deployment.score).toBeLessThanOrEqual(100);
		expect(deployment.parts).toHaveLength(4);
		const exported = await fetch(`${testNode.api}/deployments/iris/captures`, {
			headers: { authorization: `Bearer ${OWNER_KEY}` },
		});
		expect(exported.status).toBe(200);
		expect(exported.headers.get("content-type")).toMatch(/application\/x-ndjson/);
		const lines = (await exported.text())
			.trim()
			.split("\n")
			.map(line => JSON.parse(line) as { rows: number; inputs: unknown[] });
		expect(lines.length).toBeGreaterThanOrEqual(60);
		expect(lines[0]).toMatchObject({ model: "iris", version: "1.0.0", rows: 10 });
		expect(Object.keys(lines[0].inputs[0] as object).sort()).toEqual([...FEATURES].sort());
	});

	it("keeps another tenant out of all of it", async () => {
		const created = await request("/tenants", {
			method: "POST",
			body: { name: "monitoring-other" },
		});
		expect(created.status).toBe(201);
		const otherKey = (created.body as { ownerKey: { key: string } }).ownerKey.key;
		const other = apiClient(testNode.api, otherKey);
		expect((await other("/deployments/iris/drift")).status).toBe(404);
		expect((await other("/deployments/iris/health")).status).toBe(404);
		expect((await other("/deployments/iris/captures")).status).toBe(404);
		expect(
			(
				await other("/models/iris/feedback", {
					method: "POST",
					body: { items: [{ id: "x", label: "1" }] },
				})
			).status,
		).toBe(404);
	});
});
