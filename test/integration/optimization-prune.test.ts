/**
 * Pruning through the optimization job of an all-in-one node: train the digits MLP, prune it to
 * 50 % with fine-tuning (recipe "prune": the trainer's ONNX export read, pruned, fine-tuned on
 * the training job's train split, written back) and get the next minor version, Validated
 * within 1 accuracy point of its source, every Dense kernel at least half zeros. "convert"
 * refuses the trained (ONNX) version: it reads TF.js models.
 */
import type { OptimizationReport } from "../../lib/optimization/optimization-job";
import { createModelWithDataset, trainingSpec } from "../support/model-with-dataset";
import { FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";
import { optimizeVersion, refusedOptimization, trainVersion } from "../support/training-jobs";

const OWNER_KEY = "mf_optimization-prune-test-owner-key";

describe("pruning through the optimization job", () => {
	let testNode: TestNode;
	let trained: string;

	const request: TestNode["request"] = (url, init) => testNode.request(url, init);

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, { ...FAST_LOOPS_CPU_ONLY, LOG_LEVEL: "error" });
		await createModelWithDataset(testNode.api, OWNER_KEY, "digits");
		trained = await trainVersion(
			request,
			trainingSpec("digits", { seed: 3, epochs: 30, checkpointEvery: 0 }),
		);
	}, 90_000);

	afterAll(() => testNode?.stop());

	it("prunes the trained MLP to 50 % with fine-tuning: Validated within 1 accuracy point", async () => {
		const { result, version } = await optimizeVersion(request, "digits", trained, {
			recipe: "prune",
			params: { sparsity: 0.5, epochs: 5 },
			acceptance: { maxAccuracyDrop: 1 },
		});
		expect(result.state).toBe("Validated");
		expect(version.format).toBe("onnx");
		expect(version.lineage).toMatchObject({
			parentVersion: trained,
			hyperparameters: { recipe: "prune", params: { sparsity: 0.5, epochs: 5 } },
		});
		const report = (version.details as { optimization: OptimizationReport }).optimization;
		expect(report.evaluation.accuracy!.delta).toBeGreaterThanOrEqual(-0.01);
		const layers = (report.recipeDetails as { layers: { sparsity: number }[] }).layers;
		expect(layers).toHaveLength(2);
		for (const layer of layers) expect(layer.sparsity).toBeGreaterThanOrEqual(0.5);
		process.stdout.write(
			`prune via job: accuracy ${report.evaluation.accuracy!.source.toFixed(4)} → ${report.evaluation.accuracy!.optimized.toFixed(4)}\n`,
		);
	}, 90_000);

	it("refuses to convert the trained (ONNX) version, and bad prune params, with 400s", async () => {
		const cases: Array<[Record<string, unknown>, RegExp]> = [
			[{ recipe: "convert" }, /reads tfjs models/],
			[{ recipe: "prune", params: { sparsity: 1.5 } }, /params\.sparsity/],
		];
		for (const [body, message] of cases)
			expect((await refusedOptimization(request, "digits", trained, body)).message).toMatch(
				message,
			);
	});
});
