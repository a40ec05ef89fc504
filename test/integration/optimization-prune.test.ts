/**
 * Pruning through the optimization job of an all-in-one node: train the digits MLP, prune it to
 * 50 % with fine-tuning (recipe "prune": the trainer's ONNX export read, pruned, fine-tuned on
 * the training job's train split, written back) and get the next minor version, Validated
 * within 1 accuracy point of its source, every Dense kernel at least half zeros. "convert"
 * refuses the trained (ONNX) version: it reads TF.js models.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { JobView } from "../../lib/scheduler/job-store";
import type { VersionView } from "../../lib/registry/version-store";
import type { OptimizationReport } from "../../lib/optimization/optimization-job";
import { FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";
import { waitFor } from "../support/wait";

const OWNER_KEY = "mf_optimization-prune-test-owner-key";
const DIGITS = path.join(__dirname, "..", "fixtures", "datasets", "digits.csv");

describe("pruning through the optimization job", () => {
	let testNode: TestNode;
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
		testNode = await startTestNode(OWNER_KEY, { ...FAST_LOOPS_CPU_ONLY, LOG_LEVEL: "error" });
		const model = await request("/models", {
			method: "POST",
			body: { name: "digits", task: "classification", framework: "tfjs" },
		});
		expect(model.status).toBe(201);
		const uploaded = await fetch(`${testNode.api}/datasets?name=digits&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(DIGITS),
		});
		expect(uploaded.status).toBe(201);
		const job = await request("/training-jobs", {
			method: "POST",
			body: {
				target: "digits",
				dataset: "digits",
				labelColumn: "label",
				seed: 3,
				epochs: 30,
				checkpointEvery: 0,
			},
		});
		expect(job.status).toBe(201);
		trained = ((await completed((job.body as JobView).id)).result as { version: string })
			.version;
	}, 90_000);

	afterAll(() => testNode?.stop());

	it("prunes the trained MLP to 50 % with fine-tuning: Validated within 1 accuracy point", async () => {
		const queued = await request(`/models/digits/versions/${trained}/optimize`, {
			method: "POST",
			body: {
				recipe: "prune",
				params: { sparsity: 0.5, epochs: 5 },
				acceptance: { maxAccuracyDrop: 1 },
			},
		});
		expect(queued.status).toBe(201);
		const job = await completed((queued.body as JobView).id);
		const result = job.result as { version: string; state: string };
		expect(result.state).toBe("Validated");
		const version = (await request(`/models/digits/versions/${result.version}`))
			.body as VersionView;
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
		for (const [body, message] of cases) {
			const response = await request(`/models/digits/versions/${trained}/optimize`, {
				method: "POST",
				body,
			});
			expect(response.status).toBe(400);
			expect((response.body as { message: string }).message).toMatch(message);
		}
	});
});
