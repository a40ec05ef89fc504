import type { ArchiveLimits } from "../../files/tar-files";
import type { Tensor } from "../../inference/tensor";
import type { ModelFormat } from "../../model-spec/model-schema";

/** What a pool thread is asked to do: run a batch on a model it loads (once) from a local file. */
export interface RuntimeTask {
	/** Identifies the model file across tasks (its sha256): a thread loads each key once. */
	modelKey: string;
	format: ModelFormat;
	filePath: string;
	inputs: Tensor[];
	outputNames?: string[];
	executionProviders?: string[];
	/** How far a model archive may unpack (the node's settings). */
	archiveLimits?: ArchiveLimits;
}

export interface RuntimeTaskResult {
	outputs: Tensor[];
	executionProvider: string;
	/** Time the thread spent running (not waiting), ms. */
	computeMs: number;
	/** The pieces the batch ran as, in row order: one, or one per chunk of a split batch. */
	chunks: ChunkRun[];
}

/** One piece of a batch: its rows, and the worker thread that ran it. */
export interface ChunkRun {
	rows: number;
	threadId: number;
}
