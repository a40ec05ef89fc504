import { classify } from "../inference/classification";
import type { ArchiveLimits } from "../files/tar-files";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { BatchQueue, type BatchQueueHooks } from "../batching/batch-queue";
import type { BatchingOptions } from "../batching/batching-options";
import {
	compileRequestValidator,
	type DecodedRequest,
	type RequestValidator,
} from "../inference/request-validator";
import type { RequestLimits } from "../inference/request-limits";
import type { Tensor } from "../inference/tensor";
import { compilePipeline, type CompiledPipeline } from "../pipelines/compile-pipeline";
import type { ModelFormat, ModelSchema, TensorSpec } from "../model-spec/model-schema";
import type { PipelineSpec } from "../model-spec/version-spec";
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
	/**
	 * The version's own batching settings, over the node's defaults (with any override a
	 * `predictor.load` gave for this node already applied).
	 */
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
	/** How far a model archive (TF.js tar) may unpack; default DEFAULT_ARCHIVE_LIMITS. */
	archiveLimits?: ArchiveLimits;
}

/** Where one request's time went on this node (filled in by `infer`), in ms. */
export interface InferTiming {
	/** Validation and pre-processing. */
	inputMs: number;
	/** Post-processing, the outputs asked for, classification. */
	outputMs: number;
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

/**
 * What a capture hook sees of an answered request (lib/monitoring/capture.ts): the inputs as
 * the client gave them (before pre-processing) and the outputs as answered.
 */
export interface AnsweredRequest {
	inputs: readonly Tensor[];
	outputs: readonly Tensor[];
	rows: number;
	inputSpecs: readonly TensorSpec[];
}

/** Called with an answered request before its answer goes back; must not throw or wait. */
export type AnswerObserver = (answered: AnsweredRequest) => void;

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
		private readonly archiveLimits?: ArchiveLimits,
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
			...(this.archiveLimits ? { archiveLimits: this.archiveLimits } : {}),
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

	/** The pipeline steps every response lists; none (and no pipeline pass) for most models. */
	private readonly steps: readonly string[];
	private readonly hasPre: boolean;
	private readonly hasPost: boolean;
	/**
	 * Whether the validator's checks cover what the queue would check again (every input has a
	 * batch dimension, all the same, and data as long as the shape): true unless an input is a
	 * scalar, which the queue then refuses.
	 */
	private readonly rowsChecked: boolean;

	private constructor(
		readonly info: ServedVersionInfo,
		/** The model file on this node (explanations read an XGBoost model's trees from it). */
		readonly filePath: string,
		private readonly runtime: LoadedModel,
		private readonly pooled: LoadedModel | null,
		private readonly validate: RequestValidator,
		private readonly pipeline: CompiledPipeline,
		private readonly queue: BatchQueue,
		private readonly poolMinRows: number,
		private readonly nodeBatching: Partial<BatchingOptions>,
	) {
		this.format = info.format;
		this.schema = info.schema;
		this.memoryBytes = runtime.memoryBytes;
		this.hasPre = pipeline.pre.steps.length > 0;
		this.hasPost = pipeline.post.steps.length > 0;
		this.steps = [...pipeline.pre.steps, ...pipeline.post.steps];
		this.rowsChecked = info.schema.inputs.every(spec => spec.shape.length > 0);
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
				options.archiveLimits,
			);
		} else {
			runtime = await resolveRuntime(info.format).load(filePath, {
				executionProviders: options.executionProviders,
				intraOpThreads: 1,
				interOpThreads: 1,
				warn: options.warn,
				...(options.archiveLimits ? { archiveLimits: options.archiveLimits } : {}),
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
					options.archiveLimits,
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
			filePath,
			runtime,
			pooled,
			validate,
			pipeline,
			queue,
			options.poolMinRows,
			options.batching,
		);
		return target.model;
	}

	/**
	 * Validates, pre-processes, queues for a batch, runs, post-processes: one client request.
	 * One await on the way (the batch): a version without pipeline steps skips their pass.
	 */
	async infer(
		request: unknown,
		deadline?: number,
		timing?: InferTiming,
		observe?: AnswerObserver,
	): Promise<InferResult> {
		const started = performance.now();
		const decoded = this.validate(request);
		const inputs = this.hasPre ? this.pipeline.preprocess(decoded.inputs) : decoded.inputs;
		const queued = performance.now();
		const ran = await this.queue.submit({
			inputs,
			rows: this.rowsChecked ? decoded.rows : undefined,
			deadline,
		});
		const ranAt = performance.now();
		const outputs = this.hasPost ? this.pipeline.post.apply(ran) : ran;
		const wanted = decoded.outputs;
		const picked = wanted ? pick(outputs, wanted) : outputs;
		const classes = decoded.classification;
		const result: InferResult = {
			modelName: this.info.model,
			modelVersion: this.info.version,
			outputs:
				classes === undefined
					? picked
					: picked.map(t =>
							classes[t.name] !== undefined
								? classify(t, classes[t.name], this.info.labels)
								: t,
						),
			executionProvider: this.runtime.executionProvider,
			steps: this.steps.length === 0 ? [] : [...this.steps],
			rows: decoded.rows,
		};
		// The prediction id: the client's own request id, else one made here. Ground truth sent
		// back later names it (POST /api/v1/models/{model}/feedback).
		result.id = decoded.id ?? randomUUID();
		observe?.({
			inputs: decoded.inputs,
			outputs: result.outputs,
			rows: decoded.rows,
			inputSpecs: this.info.schema.inputs,
		});
		if (decoded.parameters !== undefined) result.parameters = decoded.parameters;
		if (timing !== undefined) {
			timing.inputMs = queued - started;
			timing.outputMs = performance.now() - ranAt;
		}
		return result;
	}

	/**
	 * Decodes and checks a request as `infer` does, without running it (explanations): the
	 * inputs as the client gave them, before pre-processing.
	 */
	decode(request: unknown): DecodedRequest {
		return this.validate(request);
	}

	/** The version's pre-processing applied to decoded inputs (no copy without steps). */
	preprocess(inputs: Tensor[]): Tensor[] {
		return this.hasPre ? this.pipeline.preprocess(inputs) : inputs;
	}

	/**
	 * Runs pre-processed inputs of `rows` rows through the batching queue (its deadline and
	 * backpressure) and the runtime: the model's raw outputs, before post-processing.
	 */
	runQueued(inputs: Tensor[], rows: number, deadline?: number): Promise<Tensor[]> {
		return this.queue.submit({ inputs, rows, deadline });
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

	/** Requests waiting in the batching queue (not running yet). */
	get pending(): number {
		return this.queue.pending;
	}

	/** Requests waiting or running in the batching queue. */
	get active(): number {
		return this.queue.active;
	}

	/** The batching settings in force (node defaults, the version's own, any override). */
	get batching(): Readonly<BatchingOptions> {
		return this.queue.options;
	}

	/**
	 * Replaces the version's batching settings on the live queue (over the node's defaults),
	 * keeping every queued request.
	 * @throws InvalidConfigurationError for a wrong setting; the old ones then stay
	 */
	setBatching(batching: Partial<BatchingOptions>): void {
		this.queue.reconfigure({ ...this.nodeBatching, ...batching });
	}

	async dispose(): Promise<void> {
		await this.queue.close();
		await this.runtime.dispose();
	}
}

/** The outputs a client asked for, in its order. */
function pick(outputs: readonly Tensor[], names: readonly string[]): Tensor[] {
	return names.map(name => outputs.find(o => o.name === name) as Tensor);
}
