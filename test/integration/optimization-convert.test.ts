/**
 * Converting an uploaded TF.js layers model to ONNX through the optimization job, evaluated on
 * a named dataset (the version has no training job here): build an iris MLP (4 inputs, 3
 * classes, seeded weights) with TF.js, upload its tar, optimize it with recipe "convert" and
 * dataset "iris"; the new version is ONNX, Validated, its outputs agree with the TF.js
 * source's within 1e-5; deployed, it answers the normal predict path as the TF.js version
 * does. Requests whose dataset cannot feed the model are 400s naming the field.
 */
import type { VersionView } from "../../lib/registry/version-store";
import type { OptimizationReport } from "../../lib/optimization/optimization-job";
import { layersModelTar } from "../../lib/optimization/tfjs-source";
import { loadTfjs } from "../../lib/runtimes/tfjs/load-tfjs";
import { inferVersion } from "../support/infer-request";
import { createModelWithDataset } from "../support/model-with-dataset";
import { FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";
import { optimizeVersion, refusedOptimization } from "../support/training-jobs";

const OWNER_KEY = "mf_optimization-convert-test-owner-key";

/** A 4 → 8 → 3 softmax MLP with seeded weights, as the tar the TF.js importer takes. */
async function irisMlpTar(): Promise<Uint8Array> {
	const tf = await loadTfjs();
	const model = tf.sequential({ name: "iris_mlp" });
	model.add(
		tf.layers.dense({
			inputShape: [4],
			units: 8,
			activation: "relu",
			kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
			biasInitializer: "ones",
			name: "hidden",
		}),
	);
	model.add(
		tf.layers.dense({
			units: 3,
			activation: "softmax",
			kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }),
			name: "scores",
		}),
	);
	try {
		return await layersModelTar(tf, model);
	} finally {
		model.dispose();
	}
}

describe("converting an uploaded TF.js model through the optimization job", () => {
	let testNode: TestNode;
	let uploaded: VersionView;
	/** The ONNX version the first test converts. */
	let convertedVersion: string;

	const request: TestNode["request"] = (url, init) => testNode.request(url, init);

	async function infer(version: string, input: string, rows: number[][], datatype = "FP32") {
		const response = await inferVersion(testNode.node.httpUrl!, OWNER_KEY, "iris", version, [
			{ name: input, datatype, shape: [rows.length, 4], data: rows.flat() },
		]);
		if (response.status !== 200) throw new Error(await response.text());
		const body = (await response.json()) as { outputs: Array<{ data: number[] }> };
		return body.outputs[0].data;
	}

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			MODELFLEET_OPTIMIZATION_SWEEP_MS: "50",
		});
		await createModelWithDataset(testNode.api, OWNER_KEY, "iris");
		const upload = await fetch(
			`${testNode.api}/models/iris/versions/upload?version=1.0.0&format=tfjs&fileName=iris.tar&state=Validated`,
			{
				method: "POST",
				headers: { authorization: `Bearer ${OWNER_KEY}` },
				body: Buffer.from(await irisMlpTar()),
			},
		);
		expect(upload.status).toBe(201);
		uploaded = (await upload.json()) as VersionView;
		expect(uploaded.format).toBe("tfjs");
	}, 90_000);

	afterAll(() => testNode?.stop());

	it("makes a Validated ONNX version that agrees with the TF.js source and serves the same answers", async () => {
		const { result, version } = await optimizeVersion(request, "iris", "1.0.0", {
			recipe: "convert",
			dataset: "iris",
		});
		expect(result.state).toBe("Validated");
		convertedVersion = result.version;
		expect(version).toMatchObject({ format: "onnx", state: "Validated" });
		expect(version.lineage).toMatchObject({ parentVersion: "1.0.0" });
		const report = (version.details as { optimization: OptimizationReport }).optimization;
		expect(report.evaluation.rows).toBe(150);
		expect(report.evaluation.agreement.maxAbsDiff).toBeLessThanOrEqual(1e-5);
		expect(report.evaluation.agreement.argmax).toBe(1);
		expect(report.evaluation.accuracy!.delta).toBe(0);
		expect(report.evaluation.latency.source).toEqual([]);
		expect(report.evaluation.latency.optimized.map(p => p.batch)).toEqual([1, 64]);
		expect(version.metrics).toEqual([
			expect.objectContaining({
				name: "accuracy",
				dataset: expect.objectContaining({ name: "iris@1", split: "all" }),
			}),
		]);

		const deployed = await request("/deployments", {
			method: "POST",
			body: { model: "iris", version: result.version },
		});
		expect(deployed.status).toBe(201);
		const rows = [
			[5.1, 3.5, 1.4, 0.2],
			[6.3, 2.9, 5.6, 1.8],
			[5.9, 3.0, 4.2, 1.5],
		];
		const input = version.schema.inputs[0].name;
		expect(input).toBe("hidden_input");
		expect(input).toBe(uploaded.schema.inputs[0].name);
		const converted = await infer(result.version, input, rows);
		const source = await infer("1.0.0", input, rows);
		expect(converted).toHaveLength(9);
		converted.forEach((value, i) =>
			expect(Math.abs(value - source[i])).toBeLessThanOrEqual(1e-5),
		);
	}, 90_000);

	it("serves an FP16 version without keepIoTypes: float16 in and out through the predict path", async () => {
		const { result, version } = await optimizeVersion(request, "iris", convertedVersion, {
			recipe: "fp16",
			params: { keepIoTypes: false },
			dataset: "iris",
		});
		expect(result.state).toBe("Validated");
		expect(version.schema.inputs[0].datatype).toBe("FP16");
		const report = (version.details as { optimization: OptimizationReport }).optimization;
		expect(report.evaluation.agreement.maxRelDiff).toBeLessThanOrEqual(1e-2);
		const rows = [
			[5.1, 3.5, 1.4, 0.2],
			[6.3, 2.9, 5.6, 1.8],
		];
		const half = await infer(result.version, "hidden_input", rows, "FP16");
		const full = await infer(convertedVersion, "hidden_input", rows);
		expect(half).toHaveLength(6);
		await expect(infer(result.version, "hidden_input", rows)).rejects.toThrow(/expected FP16/);
		half.forEach((value, i) => expect(Math.abs(value - full[i])).toBeLessThanOrEqual(1e-2));
	}, 60_000);

	it("refuses a dataset that cannot feed the model, and an uploaded version without one, naming the field", async () => {
		const cases: Array<[Record<string, unknown>, string, RegExp]> = [
			[{ recipe: "convert" }, "version", /name a dataset to evaluate on with "dataset"/],
			[
				{ recipe: "convert", dataset: "iris", features: ["sepal_length"] },
				"features",
				/takes 4 columns per row, but 1/,
			],
			[
				{ recipe: "convert", dataset: "iris", features: ["a", "b", "c", "d"] },
				"features",
				/'a' is not a feature column/,
			],
			[
				{ recipe: "convert", dataset: "iris", labelColumn: "colour" },
				"labelColumn",
				/has no column 'colour'/,
			],
		];
		for (const [body, field, message] of cases) {
			const error = await refusedOptimization(request, "iris", "1.0.0", body);
			expect(error.message).toMatch(message);
			expect(error.data?.field).toBe(field);
		}
	});
});
