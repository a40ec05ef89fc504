/**
 * Optimization jobs through the gateway of an all-in-one node: train the digits MLP for a few
 * epochs, optimize it to INT8 (dynamic) — a job in the training queue, run by the trainer —
 * and get the next minor version, Validated by its evaluation against the source, with its
 * lineage and report; deploy it and predict through the normal predict path; the
 * recommendation route lists it; a job cancelled while it runs registers nothing; bad requests
 * are 400s naming the field.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { JobView } from "../../lib/scheduler/job-store";
import type { VersionView } from "../../lib/registry/version-store";
import type { OptimizationTable } from "../../lib/optimization/recommendation";
import type { OptimizationReport } from "../../lib/optimization/optimization-job";
import { FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";
import { waitFor } from "../support/wait";

const OWNER_KEY = "mf_optimization-test-owner-key";
const FIXTURES = path.join(__dirname, "..", "fixtures", "datasets");

describe("optimization jobs through the gateway", () => {
	let testNode: TestNode;
	let base: string;
	let trained: string;

	const request: TestNode["request"] = (url, init) => testNode.request(url, init);

	async function completed(id: string): Promise<JobView> {
		return waitFor(
			`job ${id} completed`,
			async () => {
				const view = (await request(`/training-jobs/${id}`)).body as JobView;
				if (view.state === "failed") throw new Error(`job failed: ${view.error}`);
				return view.state === "completed" ? view : undefined;
			},
			60_000,
		);
	}

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			// A latency sweep of 4 × 1 s: long enough to cancel a job while it runs.
			MODELFLEET_OPTIMIZATION_SWEEP_MS: "1000",
		});
		base = testNode.api;
		const model = await request("/models", {
			method: "POST",
			body: { name: "digits", task: "classification", framework: "tfjs" },
		});
		expect(model.status).toBe(201);
		const uploaded = await fetch(`${base}/datasets?name=digits&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(path.join(FIXTURES, "digits.csv")),
		});
		expect(uploaded.status).toBe(201);
		const job = await request("/training-jobs", {
			method: "POST",
			body: {
				target: "digits",
				dataset: "digits",
				labelColumn: "label",
				seed: 3,
				epochs: 12,
				checkpointEvery: 0,
				model: { preset: "medium" },
			},
		});
		expect(job.status).toBe(201);
		trained = ((await completed((job.body as JobView).id)).result as { version: string })
			.version;
	}, 90_000);

	afterAll(() => testNode?.stop());

	it("makes a Validated INT8 version that the normal predict path serves", async () => {
		const queued = await request(`/models/digits/versions/${trained}/optimize`, {
			method: "POST",
			body: { recipe: "int8-dynamic", acceptance: { maxAccuracyDrop: 1 } },
		});
		expect(queued.status).toBe(201);
		const job = await completed((queued.body as JobView).id);
		const result = job.result as { version: string; state: string };
		expect(result.state).toBe("Validated");

		const version = (await request(`/models/digits/versions/${result.version}`))
			.body as VersionView;
		expect(version.version).not.toBe(trained);
		expect(version.state).toBe("Validated");
		expect(version.lineage).toMatchObject({
			parentVersion: trained,
			hyperparameters: { recipe: "int8-dynamic", params: { form: "integer" } },
		});
		const report = (version.details as { optimization: OptimizationReport }).optimization;
		expect(report.evaluation.size.ratio).toBeGreaterThanOrEqual(3);
		expect(report.evaluation.agreement.argmax).toBeGreaterThanOrEqual(0.98);
		expect(Math.abs(report.evaluation.accuracy!.delta)).toBeLessThanOrEqual(0.01);
		expect(report.evaluation.latency.optimized.map(p => p.batch)).toEqual([1, 64]);

		const deployed = await request("/deployments", {
			method: "POST",
			body: { model: "digits", version: result.version },
		});
		expect(deployed.status).toBe(201);
		const pixels = Array.from({ length: 64 }, (_, i) => (i % 7) * 2);
		const infer = async (v: string) => {
			const response = await fetch(
				`${testNode.node.httpUrl}/v2/models/digits/versions/${v}/infer`,
				{
					method: "POST",
					headers: {
						authorization: `Bearer ${OWNER_KEY}`,
						"content-type": "application/json",
					},
					body: JSON.stringify({
						inputs: [
							{
								name: version.schema.inputs[0].name,
								datatype: "FP32",
								shape: [1, 64],
								data: pixels,
							},
						],
					}),
				},
			);
			expect(response.status).toBe(200);
			return (await response.json()) as { outputs: Array<{ name: string; data: number[] }> };
		};
		const quantized = await infer(result.version);
		const source = await infer(trained);
		const probabilities = (r: typeof quantized) =>
			r.outputs.find(o => o.name === "probabilities")!.data;
		const argmax = (p: number[]) => p.indexOf(Math.max(...p));
		expect(argmax(probabilities(quantized))).toBe(argmax(probabilities(source)));

		const table = (await request(`/models/digits/versions/${trained}/optimizations`))
			.body as OptimizationTable;
		expect(table.optimizations).toEqual([
			expect.objectContaining({
				version: result.version,
				recipe: "int8-dynamic",
				state: "Deployed",
				acceptanceFailures: [],
			}),
		]);
		expect(table.recommended).toBe(result.version);
	}, 90_000);

	it("cancels a running optimization job: it ends cancelled and registers nothing", async () => {
		const queued = await request(`/models/digits/versions/${trained}/optimize`, {
			method: "POST",
			body: { recipe: "graph" },
		});
		expect(queued.status).toBe(201);
		const id = (queued.body as JobView).id;
		await waitFor(
			`job ${id} running`,
			async () => {
				const view = (await request(`/training-jobs/${id}`)).body as JobView;
				return view.state === "running" && view.progress.length > 0 ? view : undefined;
			},
			20_000,
		);
		const cancelled = await request(`/training-jobs/${id}/cancel`, { method: "POST" });
		expect(cancelled.status).toBe(200);
		expect((cancelled.body as JobView).state).toBe("cancelled");
		// Past the end of the sweep it was in: still cancelled, and no version made from it.
		await new Promise(resolve => setTimeout(resolve, 5000));
		expect(((await request(`/training-jobs/${id}`)).body as JobView).state).toBe("cancelled");
		const versions = (await request("/models/digits/versions")).body as {
			items: VersionView[];
		};
		expect(versions.items.filter(v => v.lineage.trainingJob === id)).toEqual([]);
	}, 40_000);

	it("refuses bad requests with 400 naming the field, and unknown versions with 404", async () => {
		const cases: Array<[Record<string, unknown>, RegExp]> = [
			[{ recipe: "int4" }, /recipe must be one of/],
			[{ recipe: "graph", params: { level: "max" } }, /params.level/],
			[{ recipe: "int8-dynamic", acceptance: { minArgmaxAgreement: 2 } }, /acceptance/],
		];
		for (const [body, message] of cases) {
			const response = await request(`/models/digits/versions/${trained}/optimize`, {
				method: "POST",
				body,
			});
			expect(response.status).toBe(400);
			expect((response.body as { message: string }).message).toMatch(message);
		}
		const missing = await request(`/models/digits/versions/9.9.9/optimize`, {
			method: "POST",
			body: { recipe: "graph" },
		});
		expect(missing.status).toBe(404);
	});
});
