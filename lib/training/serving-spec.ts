/**
 * What a trained model's version carries for serving, in the registry's own formats
 * (lib/model-spec/model-schema.ts, lib/model-spec/version-spec.ts): the schema (the raw feature
 * columns in, probabilities or a prediction out), the pipeline (the training pre-processing;
 * argmax to a label for a classifier) and the class labels.
 */
import type { ModelSchema } from "../model-spec/model-schema";
import type { PipelineSpec } from "../model-spec/version-spec";
import { outputName } from "./dense-network";
import type { Task } from "./job-spec";
import type { Preprocessing } from "./preprocessing";

export interface ServingSpec {
	schema: ModelSchema;
	pipeline: PipelineSpec;
	/** Class names, index-aligned with the probabilities; null for regression. */
	labels: string[] | null;
}

export function servingSpec(
	preprocessing: Preprocessing,
	task: Task,
	classes: readonly string[] | null,
): ServingSpec {
	const outputs = task === "classification" ? (classes?.length ?? 0) : 1;
	return {
		schema: {
			inputs: [preprocessing.inputSpec("input")],
			outputs: [{ name: outputName({ task }), datatype: "FP32", shape: [-1, outputs] }],
		},
		pipeline: {
			pre: preprocessing.pipelineSteps,
			post: task === "classification" ? [{ type: "argmax" }] : [],
		},
		labels: task === "classification" ? [...(classes ?? [])] : null,
	};
}
