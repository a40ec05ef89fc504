/**
 * A version's pipelines, compiled once when the predictor loads the version:
 *
 *     const pipeline = compilePipeline(version.pipeline, version.schema, version.labels);
 *     const validate = compileRequestValidator(version.schema, limits, {
 *         imputedColumns: pipeline.imputedColumns,
 *         addedOutputs: pipeline.addedOutputs,
 *     });
 *     // per request:
 *     const request = validate(body);
 *     const { outputs, steps } = await pipeline.run(request.inputs, inputs => model.run(inputs));
 *
 * Pre-processing applies to the first input, post-processing to the first output (see
 * pre-pipeline.ts and post-pipeline.ts for each step's exact meaning).
 */
import type { Tensor } from "../inference/tensor";
import type { ModelSchema } from "../model-spec/model-schema";
import type { PipelineSpec } from "../model-spec/version-spec";
import { compilePostPipeline, type CompiledPostPipeline } from "./post-pipeline";
import {
	compilePrePipeline,
	type CompiledPrePipeline,
	type PrePipelineOptions,
} from "./pre-pipeline";

export type PipelineOptions = PrePipelineOptions;

export interface PipelineResult {
	/** The model's outputs, post-processed, with the outputs the steps add. */
	outputs: Tensor[];
	/** The steps that ran, in order: e.g. ["impute", "standardize", "softmax", "top-k", "confidence"]. */
	steps: string[];
}

export interface CompiledPipeline {
	readonly pre: CompiledPrePipeline;
	readonly post: CompiledPostPipeline;
	/** First-input columns whose missing values the pre-processing imputes: for the request validator. */
	readonly imputedColumns: readonly number[];
	/** Output names the post-processing adds: for the request validator. */
	readonly addedOutputs: readonly string[];
	/** The inputs with the first one pre-processed. */
	preprocess(inputs: readonly Tensor[]): Tensor[];
	/** Pre-processes, runs the model, post-processes. */
	run(
		inputs: readonly Tensor[],
		model: (inputs: Tensor[]) => Promise<Tensor[]>,
	): Promise<PipelineResult>;
}

/** Compiles a version's pipelines; throws 400 naming the step where spec and schema disagree. */
export function compilePipeline(
	spec: PipelineSpec,
	schema: ModelSchema,
	labels: readonly string[] | null,
	options: PipelineOptions = {},
): CompiledPipeline {
	const pre = compilePrePipeline(spec.pre, schema.inputs[0], options);
	const post = compilePostPipeline(spec.post, schema.outputs, labels);
	const preprocess = (inputs: readonly Tensor[]): Tensor[] =>
		inputs.map((tensor, i) => (i === 0 ? pre.apply(tensor) : tensor));
	return {
		pre,
		post,
		imputedColumns: pre.imputedColumns,
		addedOutputs: post.addedOutputs,
		preprocess,
		async run(inputs, model) {
			const outputs = post.apply(await model(preprocess(inputs)));
			return { outputs, steps: [...pre.steps, ...post.steps] };
		},
	};
}
