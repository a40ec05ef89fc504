/**
 * What a trained version is worth, checked through the gateway of an all-in-one node: the 8×8
 * digits reach test accuracy ≥ 0.95 and the served version scores exactly the metric it was
 * registered with on the same test rows; early stopping ends a run whose validation loss stops
 * improving and the registered version holds the best epoch's weights (its loss on the
 * validation rows is the best epoch's, not the last one's).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StartedNode } from "../../nodes/start-node";
import { parseDataset } from "../../lib/datasets/parse-dataset";
import { splitDataset, type DatasetSplit } from "../../lib/datasets/dataset-split";
import type { JobView } from "../../lib/scheduler/job-store";
import type { VersionView } from "../../lib/registry/version-store";
import {
	FAST_LOOPS_CPU_ONLY,
	startTestNode,
	type TestNode,
	type TestRequestInit,
} from "../support/test-node";
import { waitFor } from "../support/wait";

const OWNER_KEY = "mf_training-quality-test-owner-key";
const FIXTURES = path.join(__dirname, "..", "fixtures", "datasets");

interface JobResult {
	version: string;
	state: string;
	metrics: Record<string, number>;
	bestEpoch: number;
	epochsRun: number;
	stoppedEarly: boolean;
}

/** A fixture's rows as numbers (features) and its label column, in file order. */
function readCsv(file: string): { features: number[][]; labels: string[] } {
	const [, ...lines] = fs.readFileSync(file, "utf8").trim().split("\n");
	const rows = lines.map(line => line.split(","));
	return {
		features: rows.map(r => r.slice(0, -1).map(Number)),
		labels: rows.map(r => r[r.length - 1]),
	};
}

/** The split the trainer made: the same rows, fractions and seed give the same split. */
async function splitOf(file: string, seed: number): Promise<DatasetSplit> {
	const dataset = await parseDataset(fs.createReadStream(file), {
		format: "csv",
		labelColumn: "label",
		maxBytes: Number.MAX_SAFE_INTEGER,
	});
	return splitDataset(dataset, {
		fractions: { train: 0.7, validation: 0.15, test: 0.15 },
		seed,
		stratifyBy: "label",
	});
}

describe("trained versions through the gateway", () => {
	let testNode: TestNode;
	let node: StartedNode;
	let base: string;

	const request = (url: string, init?: TestRequestInit) => testNode.request(url, init);

	async function upload(name: string, file: string): Promise<void> {
		const response = await fetch(`${base}/datasets?name=${name}&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(file),
		});
		expect(response.status).toBe(201);
	}

	/** Queues a job and waits for it to complete; answers the finished job. */
	async function train(spec: Record<string, unknown>): Promise<JobView> {
		const queued = await request("/training-jobs", { method: "POST", body: spec });
		expect(queued.status).toBe(201);
		const id = (queued.body as JobView).id;
		return waitFor(
			`training job ${id} completed`,
			async () => {
				const view = (await request(`/training-jobs/${id}`)).body as JobView;
				if (view.state === "failed") throw new Error(`job failed: ${view.error}`);
				return view.state === "completed" ? view : undefined;
			},
			40_000,
			200,
		);
	}

	/** Class probabilities of the rows from the version, over the Open Inference Protocol. */
	async function probabilities(
		model: string,
		version: VersionView,
		rows: number[][],
	): Promise<number[][]> {
		const input = version.schema.inputs[0];
		const response = await fetch(
			`${node.httpUrl}/v2/models/${model}/versions/${version.version}/infer`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${OWNER_KEY}`,
					"content-type": "application/json",
				},
				body: JSON.stringify({
					inputs: [
						{
							name: input.name,
							datatype: "FP32",
							shape: [rows.length, rows[0].length],
							data: rows.flat(),
						},
					],
				}),
			},
		);
		expect(response.status).toBe(200);
		const body = (await response.json()) as {
			outputs: Array<{ name: string; shape: number[]; data: number[] }>;
		};
		const output = body.outputs.find(o => o.name === "probabilities");
		if (!output) throw new Error(`no probabilities in ${JSON.stringify(body)}`);
		const classes = output.shape[1];
		return rows.map((_, i) => output.data.slice(i * classes, (i + 1) * classes));
	}

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, FAST_LOOPS_CPU_ONLY);
		({ node, api: base } = testNode);
		for (const name of ["digits", "iris"]) {
			const created = await request("/models", {
				method: "POST",
				body: { name, task: "classification", framework: "tfjs" },
			});
			expect(created.status).toBe(201);
		}
	}, 30_000);

	afterAll(() => testNode?.stop());

	it("trains digits to test accuracy ≥ 0.95 and the served version scores that metric on the test rows", async () => {
		const file = path.join(FIXTURES, "digits.csv");
		await upload("digits", file);
		const seed = 1;
		const done = await train({
			target: "digits",
			dataset: "digits",
			labelColumn: "label",
			epochs: 30,
			seed,
			acceptance: { accuracy: { min: 0.95 } },
		});
		const result = done.result as unknown as JobResult;
		expect(result.state).toBe("Validated");
		expect(result.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
		expect(done.progress).toHaveLength(30);

		const version = (await request(`/models/digits/versions/${result.version}`))
			.body as VersionView;
		expect(version.state).toBe("Validated");
		const accuracy = version.metrics.find(m => m.name === "accuracy");
		expect(accuracy).toMatchObject({ value: result.metrics.accuracy });
		expect(accuracy?.value).toBeGreaterThanOrEqual(0.95);
		for (const name of ["precision", "recall", "f1", "auc"])
			expect(version.metrics.map(m => m.name)).toContain(name);

		// The version as served gets the registered accuracy on the test rows, to the row.
		const { features, labels } = readCsv(file);
		const test = [...(await splitOf(file, seed)).test];
		expect(test).toHaveLength((version.details as { split: { test: number } }).split.test);
		const probs = await probabilities(
			"digits",
			version,
			test.map(i => features[i]),
		);
		const classes = version.labels ?? [];
		const correct = test.filter((row, j) => {
			const p = probs[j];
			return classes[p.indexOf(Math.max(...p))] === labels[row];
		}).length;
		expect(correct / test.length).toBeCloseTo(accuracy?.value ?? -1, 10);
	}, 50_000);

	it("stops early when the validation loss stops improving, and keeps the best epoch's weights", async () => {
		const file = path.join(FIXTURES, "iris.csv");
		await upload("iris", file);
		const seed = 1;
		const patience = 5;
		const done = await train({
			target: "iris",
			dataset: "iris",
			labelColumn: "label",
			model: { preset: "medium" },
			learningRate: 0.05,
			epochs: 200,
			seed,
			earlyStopping: { monitor: "val_loss", patience },
			acceptance: { accuracy: { min: 0.5 } },
		});
		const result = done.result as unknown as JobResult;
		expect(result.stoppedEarly).toBe(true);
		expect(result.bestEpoch).toBeLessThan(result.epochsRun);
		expect(result.epochsRun).toBe(result.bestEpoch + patience);
		expect(result.epochsRun).toBeLessThan(200);
		expect(done.progress.map(p => p.epoch)).toEqual(
			Array.from({ length: result.epochsRun }, (_, i) => i + 1),
		);
		const valLoss = done.progress.map(p => p.metrics.val_loss);
		const best = valLoss[result.bestEpoch - 1];
		expect(Math.min(...valLoss)).toBe(best);
		const last = valLoss[valLoss.length - 1];
		expect(last).toBeGreaterThan(best + 0.01);

		const version = (await request(`/models/iris/versions/${result.version}`))
			.body as VersionView;
		expect(version.lineage?.hyperparameters).toMatchObject({
			bestEpoch: result.bestEpoch,
			epochsRun: result.epochsRun,
		});

		// The served version's cross-entropy on the validation rows is the best epoch's.
		const { features, labels } = readCsv(file);
		const validation = [...(await splitOf(file, seed)).validation];
		const probs = await probabilities(
			"iris",
			version,
			validation.map(i => features[i]),
		);
		const classes = version.labels ?? [];
		const loss =
			validation.reduce(
				(sum, row, j) => sum - Math.log(probs[j][classes.indexOf(labels[row])]),
				0,
			) / validation.length;
		expect(Math.abs(loss - best)).toBeLessThan(1e-4);
		expect(Math.abs(loss - last)).toBeGreaterThan(0.01);
	}, 50_000);
});
