import { InvalidInputError } from "../../../lib/errors";
import type { Tensor } from "../../../lib/inference/tensor";
import { compilePostPipeline } from "../../../lib/pipelines/post-pipeline";
import type { TensorSpec } from "../../../lib/model-spec/model-schema";
import type { PostStep } from "../../../lib/model-spec/version-spec";

const THREE: TensorSpec[] = [
	{ name: "logits", datatype: "FP64", shape: [-1, 3] },
	{ name: "embedding", datatype: "FP32", shape: [-1, 2] },
];
const LABELS = ["setosa", "versicolor", "virginica"];

function scores(name: string, rows: number[][]): Tensor {
	return {
		name,
		datatype: "FP64",
		shape: [rows.length, rows[0].length],
		data: Float64Array.from(rows.flat()),
	};
}

const EMBEDDING: Tensor = {
	name: "embedding",
	datatype: "FP32",
	shape: [2, 2],
	data: new Float32Array(4),
};

/** Output data by name, as plain values. */
function byName(outputs: Tensor[]): Record<string, unknown[]> {
	return Object.fromEntries(outputs.map(t => [t.name, Array.from(t.data as ArrayLike<unknown>)]));
}

function refusal(run: () => unknown): InvalidInputError {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).code).toBe(400);
		return error as InvalidInputError;
	}
	throw new Error("expected an InvalidInputError");
}

describe("compilePostPipeline", () => {
	it("softmax: exp(x - max) normalised per row, written back in the output's datatype", () => {
		const post = compilePostPipeline(
			[{ type: "softmax" }],
			[{ name: "p", datatype: "FP32", shape: [-1, 2] }],
			null,
		);
		const [p] = post.apply([
			{
				name: "p",
				datatype: "FP32",
				shape: [2, 2],
				data: Float32Array.of(0, Math.log(3), 5, 5),
			},
		]);
		expect(p.datatype).toBe("FP32");
		expect(Array.from(p.data as Float32Array)).toEqual([0.25, 0.75, 0.5, 0.5]);
		expect(post.steps).toEqual(["softmax"]);
		expect(post.addedOutputs).toEqual([]);
	});

	it("sigmoid: 1 / (1 + exp(-x)) per value", () => {
		const post = compilePostPipeline(
			[{ type: "sigmoid" }],
			[{ name: "p", datatype: "FP64", shape: [-1] }],
			null,
		);
		const [p] = post.apply([
			{ name: "p", datatype: "FP64", shape: [2], data: Float64Array.of(0, Math.log(3)) },
		]);
		expect(p.data[0]).toBe(0.5);
		expect(p.data[1]).toBeCloseTo(0.75, 15);
	});

	it("threshold: one score per row, with labels, and a binary confidence", () => {
		const post = compilePostPipeline(
			[{ type: "threshold", value: 0.5 }],
			[{ name: "p", datatype: "FP64", shape: [-1] }],
			["no", "yes"],
		);
		const out = byName(
			post.apply([
				{ name: "p", datatype: "FP64", shape: [3], data: Float64Array.of(0.2, 0.7, 0.5) },
			]),
		);
		expect(out.predicted_label).toEqual(["no", "yes", "yes"]);
		expect(out.confidence).toEqual([0.8, 0.7, 0.5]);
		expect(out.confidence_margin.map(v => Number((v as number).toFixed(12)))).toEqual([
			0.6, 0.4, 0,
		]);
		expect(post.steps).toEqual(["threshold", "confidence"]);
	});

	it("threshold: the positive column of a [rows, 2] output, as 0/1 without labels", () => {
		const post = compilePostPipeline(
			[{ type: "threshold", value: 0.3 }],
			[{ name: "p", datatype: "FP64", shape: [-1, 2] }],
			null,
		);
		const [, label] = post.apply([
			scores("p", [
				[0.8, 0.2],
				[0.6, 0.4],
			]),
		]);
		expect(label).toEqual({
			name: "predicted_label",
			datatype: "INT64",
			shape: [2],
			data: BigInt64Array.of(0n, 1n),
		});
	});

	it("argmax: the best class's label, the first on ties", () => {
		const post = compilePostPipeline([{ type: "argmax" }], THREE, LABELS);
		const out = byName(
			post.apply([
				scores("logits", [
					[0.1, 0.7, 0.2],
					[0.4, 0.1, 0.4],
				]),
				EMBEDDING,
			]),
		);
		expect(out.predicted_label).toEqual(["versicolor", "setosa"]);
	});

	it("top-k: the k best labels and scores, best first; k past the classes keeps them all", () => {
		const post = compilePostPipeline([{ type: "top-k", k: 2 }], THREE, LABELS);
		const out = post.apply([
			scores("logits", [
				[0.1, 0.7, 0.2],
				[0.5, 0.2, 0.3],
			]),
			EMBEDDING,
		]);
		const named = byName(out);
		expect(named.top_k_labels).toEqual(["versicolor", "virginica", "setosa", "virginica"]);
		expect(named.top_k_scores).toEqual([0.7, 0.2, 0.5, 0.3]);
		expect(out.find(t => t.name === "top_k_scores")?.shape).toEqual([2, 2]);
		const all = compilePostPipeline([{ type: "top-k", k: 5 }], THREE, null);
		const indices = all
			.apply([scores("logits", [[0.1, 0.7, 0.2]])])
			.find(t => t.name === "top_k_labels");
		expect(indices).toEqual({
			name: "top_k_labels",
			datatype: "INT64",
			shape: [1, 3],
			data: BigInt64Array.of(1n, 2n, 0n),
		});
	});

	it("softmax, argmax and top-k together, with confidence from the probabilities", () => {
		const post = compilePostPipeline(
			[{ type: "softmax" }, { type: "argmax" }, { type: "top-k", k: 1 }],
			THREE,
			LABELS,
		);
		// Logits ln 1, ln 2, ln 5 give probabilities 1/8, 2/8, 5/8.
		const out = post.apply([scores("logits", [[0, Math.log(2), Math.log(5)]]), EMBEDDING]);
		expect(post.steps).toEqual(["softmax", "argmax", "top-k", "confidence"]);
		expect(out.map(t => t.name)).toEqual([
			"logits",
			"embedding",
			"predicted_label",
			"top_k_labels",
			"top_k_scores",
			"confidence",
			"confidence_margin",
		]);
		expect(out[1]).toBe(EMBEDDING);
		const named = byName(out);
		const close = (values: unknown[]) => values.map(v => Number((v as number).toFixed(12)));
		expect(close(named.logits)).toEqual([0.125, 0.25, 0.625]);
		expect(named.predicted_label).toEqual(["virginica"]);
		expect(named.top_k_labels).toEqual(["virginica"]);
		expect(close(named.confidence)).toEqual([0.625]);
		expect(close(named.confidence_margin)).toEqual([0.375]);
	});

	it("passes the outputs through untouched without steps", () => {
		const post = compilePostPipeline([], THREE, null);
		const outputs = [scores("logits", [[1, 2, 3]])];
		expect(post.apply(outputs)).toEqual(outputs);
	});

	describe("refuses with 400, naming the step", () => {
		it.each<[string, PostStep[], TensorSpec[], string[] | null, string]>([
			[
				"a threshold on three classes",
				[{ type: "threshold", value: 0.5 }],
				THREE,
				null,
				"pipeline.post[0] (threshold): 'logits' has 3 classes; expected a binary output of 1 or 2 columns.",
			],
			[
				"a threshold with three labels",
				[{ type: "threshold", value: 0.5 }],
				[{ name: "p", datatype: "FP32", shape: [-1, 1] }],
				LABELS,
				"pipeline.post[0] (threshold): the version has 3 labels; expected 2 (negative, positive).",
			],
			[
				"an argmax with fewer labels than classes",
				[{ type: "softmax" }, { type: "argmax" }],
				THREE,
				["a", "b"],
				"pipeline.post[1] (argmax): the version has 2 labels but 'logits' has 3 classes; expected one label per class.",
			],
			[
				"a top-k on one score",
				[{ type: "top-k", k: 1 }],
				[{ name: "p", datatype: "FP32", shape: [-1] }],
				null,
				"pipeline.post[0] (top-k): 'p' has 1 column; expected at least 2 classes (use threshold for one score).",
			],
			[
				"both threshold and argmax",
				[{ type: "argmax" }, { type: "threshold", value: 0.5 }],
				[{ name: "p", datatype: "FP32", shape: [-1, 2] }],
				null,
				"pipeline.post[1] (threshold): pipeline.post[0] (argmax) already gives predicted_label; expected one threshold or argmax.",
			],
			[
				"top-k twice",
				[
					{ type: "top-k", k: 1 },
					{ type: "top-k", k: 2 },
				],
				THREE,
				null,
				"pipeline.post[1] (top-k): top-k is given twice; expected it once.",
			],
			[
				"a model output named like an added one",
				[{ type: "argmax" }],
				[
					{ name: "logits", datatype: "FP32", shape: [-1, 3] },
					{ name: "confidence", datatype: "FP32", shape: [-1] },
				],
				null,
				"pipeline.post: the model already has an output named 'confidence', which the post-processing adds; rename the model's output.",
			],
			[
				"a primary output of rank 3",
				[{ type: "softmax" }],
				[{ name: "seg", datatype: "FP32", shape: [-1, 4, 4] }],
				null,
				"pipeline.post[0] (softmax): the primary output 'seg' is shaped [-1, 4, 4]; expected [rows] or [rows, classes].",
			],
		])("at compile time: %s", (_, steps, outputs, labels, message) => {
			expect(refusal(() => compilePostPipeline(steps, outputs, labels)).message).toBe(
				message,
			);
		});

		it("at the output, when only the output tells the classes", () => {
			const post = compilePostPipeline(
				[{ type: "argmax" }],
				[{ name: "p", datatype: "FP64", shape: [-1, -1] }],
				["a", "b"],
			);
			expect(byName(post.apply([scores("p", [[0.1, 0.9]])])).predicted_label).toEqual(["b"]);
			expect(refusal(() => post.apply([scores("p", [[0.1, 0.2, 0.7]])])).message).toBe(
				"pipeline.post[0] (argmax): the version has 2 labels but 'p' has 3 classes; expected one label per class.",
			);
		});

		it("when the model leaves out the primary output", () => {
			const post = compilePostPipeline([{ type: "argmax" }], THREE, null);
			expect(refusal(() => post.apply([EMBEDDING])).message).toBe(
				"pipeline.post[0] (argmax): the model returned no output 'logits'; expected the primary output (the schema's first) among its outputs.",
			);
		});
	});
});
