/**
 * The one interface every model runtime implements, one runtime per format: ONNX through
 * onnxruntime-node, TF.js, and XGBoost JSON through our own tree walker. A runtime loads a
 * model file from a local path (the artifact cache) and runs batches of tensors.
 */
import type { ArchiveLimits } from "../files/tar-files";
import type { Tensor } from "../inference/tensor";
import type { ModelFormat, ModelSchema } from "../model-spec/model-schema";

export interface RuntimeLoadOptions {
	/** Execution providers to try, best first (e.g. ["cuda", "cpu"]); the first that loads wins. */
	executionProviders?: readonly string[];
	/** Threads one inference may use inside the runtime (onnxruntime intra-op). */
	intraOpThreads?: number;
	/** Threads across independent graph nodes (onnxruntime inter-op). */
	interOpThreads?: number;
	/** Where a fall-back (CUDA → CPU, tfjs-node → wasm) is reported. */
	warn?: (message: string) => void;
	/** How far a model archive (TF.js tar) may unpack; default DEFAULT_ARCHIVE_LIMITS. */
	archiveLimits?: ArchiveLimits;
}

export interface LoadedModel {
	readonly format: ModelFormat;
	/** Inputs and outputs as the runtime sees them (-1 for dynamic dimensions). */
	readonly schema: ModelSchema;
	/** What actually runs it: "cpu", "cuda", "wasm", "tensorflow", "js". */
	readonly executionProvider: string;
	/** Memory the loaded model holds, estimated in bytes: what the model cache budgets. */
	readonly memoryBytes: number;
	/**
	 * Runs one batch (the first dimension of every input is the batch). Returns the requested
	 * outputs (all when `outputNames` is left out) with the same batch size.
	 */
	run(inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]>;
	/** Releases native and wasm memory; the model cannot run after. */
	dispose(): Promise<void>;
}

export interface ModelRuntime {
	readonly format: ModelFormat;
	load(filePath: string, options?: RuntimeLoadOptions): Promise<LoadedModel>;
}
