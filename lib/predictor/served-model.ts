import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { BatchQueue, type BatchQueueHooks } from "../batching/batch-queue";
import type { BatchingOptions } from "../batching/batching-options";
import { compileRequestValidator, type RequestValidator } from "../inference/request-validator";
import type { RequestLimits } from "../inference/request-limits";
import type { Tensor } from "../inference/tensor";
import { compilePipeline, type CompiledPipeline } from "../pipelines/compile-pipeline";
import type { ModelFormat, ModelSchema } from "../registry/model-schema";
import type { PipelineSpec } from "../registry/version-spec";
import { resolveRuntime } from "../runtimes";
import type { LoadedModel } from "../runtimes/model-runtime";
import type { RuntimePool } from "../runtimes/pool/runtime-pool";

/** What the predictor needs to know of a version to serve it. */
export interface ServedVersionInfo {
	tenant: string;
	model: string;
	version: string;
	format: ModelFormat;
	sha256: string;
	schema: ModelSchema;
	pipeline: PipelineSpec;
	labels: string[] | null;
	/** The version's own batching settings, over the node's defaults. */
	batching?: Partial<BatchingOptions>;
}

export interface ServingOptions {
	limits: Partial<RequestLimits>;
	batching: Partial<BatchingOptions>;
	/** ONNX batches of at least this many rows run in the pool, split across threads. */
	poolMinRows: number;
	/** Execution providers to ask for, best first. */
	executionProviders: readonly string[];
	warn(message: string): void;
}

export interface InferResult {
	modelName: string;
	modelVersion: string;
	id?: string;
	parameters?: Record<string, unknown>;
	outputs: Tensor[];
	executionProvider: string;
	/** The pipeline steps that ran, in order. */
	steps: string[];
	rows: number;
}

/** Formats that always run in the pool: pure-JS or wasm work that would block the event loop. */
const POOLED_FORMATS: ReadonlySet<ModelFormat> = new Set(["xgboost-json", "tfjs"]);

/** A model whose batches run in the worker threads; each thread loads it once. */
class PooledModel implements LoadedModel {
	executionProvider: string;

	constructor(
		readonly format: ModelFormat,
		readonly schema: ModelSchema,
		readonly memoryBytes: number,
		private readonly pool: RuntimePool,
		private readonly modelKey: string,
		private readonly filePath: string,
		private readonly executionProviders: readonly string[],
	) {
		this.executionProvider = format === "tfjs" ? "wasm" : "js";
	}

	async run(inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
		const result = await this.pool.runChunked({
			modelKey: this.modelKey,
			format: this.format,
			filePath: this.filePath,
			inputs: [...inputs],
			outputNames: outputNames ? [...outputNames] : undefined,
			executionProviders: [...this.executionProviders],
		});
		this.executionProvider = result.executionProvider;
		return result.outputs;
	}

	async dispose(): Promise<void> {
		// The threads keep their copies in a small LRU of their own.
	}
}

/**
 * One version as a node serves it: the runtime (in-process, or the pool), the request
 * validator and pipelines compiled once, and the batching queue in front of the runtime.
 */
export class ServedModel implements LoadedModel {
	readonly format: ModelFormat;
	readonly schema: ModelSchema;
	readonly memoryBytes: number;

	private constructor(
		readonly info: ServedVersionInfo,
		private readonly runtime: LoadedModel,
		private readonly pooled: LoadedModel | null,
		private readonly validate: RequestValidator,
		private readonly pipeline: CompiledPipeline,
		private readonly queue: BatchQueue,
		private readonly poolMinRows: number,
	) {
		this.format = info.format;
		this.schema = info.schema;
		this.memoryBytes = runtime.memoryBytes;
	}

	get executionProvider(): string {
		return this.runtime.executionProvider;
	}

	static async load(
		info: ServedVersionInfo,
		filePath: string,
		pool: RuntimePool | null,
		options: ServingOptions,
		hooks: BatchQueueHooks,
	): Promise<ServedModel> {
		const pipeline = compilePipeline(info.pipeline, info.schema, info.labels);
		const validate = compileRequestValidator(info.schema, options.limits, {
			imputedColumns: pipeline.imputedColumns,
			addedOutputs: pipeline.addedOutputs,
		});
		const fileBytes = (await fs.promises.stat(filePath)).size;
		let runtime: LoadedModel;
		let pooled: LoadedModel | null = null;
		if (pool && POOLED_FORMATS.has(info.format)) {
			// Every thread may hold a copy.
			runtime = new PooledModel(
				info.format,
				info.schema,
				fileBytes * 2 * pool.threads,
				pool,
				info.sha256,
				filePath,
				options.executionProviders,
			);
		} else {
			runtime = await resolveRuntime(info.format).load(filePath, {
				executionProviders: options.executionProviders,
				intraOpThreads: 1,
				interOpThreads: 1,
				warn: options.warn,
			});
			if (pool) {
				pooled = new PooledModel(
					info.format,
					info.schema,
					0,
					pool,
					info.sha256,
					filePath,
					options.executionProviders,
				);
			}
		}
		// The queue runs batches on the served model, which holds the queue: tie the knot late.
		const target: { model?: ServedModel } = {};
		const queue = new BatchQueue({
			name: `${info.model}@${info.version}`,
			options: { ...options.batching, ...(info.batching ?? {}) },
			hooks,
			run: (inputs, outputNames) =>
				(target.model as ServedModel).runBatch(inputs, outputNames),
		});
		target.model = new ServedModel(
			info,
			runtime,
			pooled,
			validate,
			pipeline,
			queue,
			options.poolMinRows,
		);
		return target.model;
	}

	/** Validates, pre-processes, queues for a batch, runs, post-processes: one client request. */
	async infer(request: unknown, deadline?: number): Promise<InferResult & { computeMs: number }> {
		const decoded = this.validate(request);
		const started = performance.now();
		const { outputs, steps } = await this.pipeline.run(decoded.inputs, inputs =>
			this.queue.submit({ inputs, deadline }),
		);
		const wanted = decoded.outputs;
		return {
			modelName: this.info.model,
			modelVersion: this.info.version,
			...(decoded.id !== undefined ? { id: decoded.id } : {}),
			...(decoded.parameters !== undefined ? { parameters: decoded.parameters } : {}),
			outputs: wanted
				? wanted.map(name => outputs.find(o => o.name === name) as Tensor)
				: outputs,
			executionProvider: this.runtime.executionProvider,
			steps,
			rows: decoded.rows,
			computeMs: performance.now() - started,
		};
	}

	/** Runs a batch the queue formed: large ONNX batches go to the pool, split across threads. */
	runBatch(inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
		const rows = inputs[0]?.shape[0] ?? 0;
		if (this.pooled && rows >= this.poolMinRows) return this.pooled.run(inputs, outputNames);
		return this.runtime.run(inputs, outputNames);
	}

	run(inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
		return this.runBatch(inputs, outputNames);
	}

	get pending(): number {
		return this.queue.pending;
	}

	async dispose(): Promise<void> {
		await this.queue.close();
		await this.runtime.dispose();
	}
}
