/**
 * Optimization jobs through the gateway of an all-in-one node: train the digits MLP for a few
 * epochs, optimize it to INT8 (dynamic) — a job in the training queue, run by the trainer —
 * and get the next minor version, Validated by its evaluation against the source, with its
 * lineage and report; deploy it and predict through the normal predict path; the
 * recommendation route lists it; a job cancelled while it runs registers nothing; bad requests
 * are 400s naming the field.
 */
import type { JobView } from "../../lib/scheduler/job-store";
import type { VersionView } from "../../lib/registry/version-store";
import type { OptimizationTable } from "../../lib/optimization/recommendation";
import type { OptimizationReport } from "../../lib/optimization/optimization-job";
import { inferVersion } from "../support/infer-request";
import { createModelWithDataset, trainingSpec } from "../support/model-with-dataset";
import { FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";
import {
	optimizeVersion,
	queueOptimization,
	refusedOptimization,
	trainVersion,
} from "../support/training-jobs";
import { waitFor } from "../support/wait";

const OWNER_KEY = "mf_optimization-test-owner-key";

describe("optimization jobs through the gateway", () => {
	let testNode: TestNode;
	let trained: string;

	const request: TestNode["request"] = (url, init) => testNode.request(url, init);

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			// A latency sweep of 4 × 1 s: long enough to cancel a job while it runs.
			MODELFLEET_OPTIMIZATION_SWEEP_MS: "1000",
		});
		await createModelWithDataset(testNode.api, OWNER_KEY, "digits");
		trained = await trainVersion(
			request,
			trainingSpec("digits", {
				seed: 3,
				epochs: 12,
				checkpointEvery: 0,
				model: { preset: "medium" },
			}),
		);
	}, 90_000);

	afterAll(() => testNode?.stop());

	it("makes a Validated INT8 version that the normal predict path serves", async () => {
		const { result, version } = await optimizeVersion(request, "digits", trained, {
			recipe: "int8-dynamic",
			acceptance: { maxAccuracyDrop: 1 },
		});
		expect(result.state).toBe("Validated");

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
			const response = await inferVersion(testNode.node.httpUrl!, OWNER_KEY, "digits", v, [
				{
					name: version.schema.inputs[0].name,
					datatype: "FP32",
					shape: [1, 64],
					data: pixels,
				},
			]);
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
		const { id } = await queueOptimization(request, "digits", trained, { recipe: "graph" });
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
		for (const [body, message] of cases)
			expect((await refusedOptimization(request, "digits", trained, body)).message).toMatch(
				message,
			);
		const missing = await request(`/models/digits/versions/9.9.9/optimize`, {
			method: "POST",
			body: { recipe: "graph" },
		});
		expect(missing.status).toBe(404);
	});
});
