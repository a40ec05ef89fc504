/**
 * Serving a generated ONNX model the way a node does: written to a temporary file, then loaded
 * through ServedModel.load (validator, empty pipelines, batching queue, in-process runtime).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BatchingOptions } from "../../lib/batching/batching-options";
import { ServedModel, type ServingOptions } from "../../lib/predictor/served-model";
import type { ModelSchema } from "../../lib/model-spec/model-schema";
import type { RuntimePool } from "../../lib/runtimes/pool/runtime-pool";

const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "modelfleet-bench-"));
process.once("exit", () => fs.rmSync(tempDir, { recursive: true, force: true }));

/** Writes model bytes to a temporary file (removed at exit) and returns its path. */
export function writeTempModel(name: string, bytes: Uint8Array): string {
	const file = path.join(tempDir, name);
	fs.writeFileSync(file, bytes);
	return file;
}

/**
 * Loads an ONNX file as a served version. Without a pool every batch runs in-process on
 * onnxruntime with one intra-op thread, as ServedModel does; with one, batches of at least
 * `poolMinRows` rows go to the pool's threads.
 */
export function loadServedOnnx(
	name: string,
	filePath: string,
	schema: ModelSchema,
	batching: Partial<BatchingOptions>,
	pooled: { pool: RuntimePool; poolMinRows: number } | null = null,
): Promise<ServedModel> {
	const options: ServingOptions = {
		limits: {},
		batching,
		// Without a pool nothing leaves the process whatever the batch size.
		poolMinRows: pooled?.poolMinRows ?? Number.MAX_SAFE_INTEGER,
		executionProviders: ["cpu"],
		warn: message => console.warn(message),
	};
	return ServedModel.load(
		{
			tenant: "bench",
			model: name,
			version: "1.0.0",
			format: "onnx",
			sha256: name,
			schema,
			pipeline: { pre: [], post: [] },
			labels: null,
		},
		filePath,
		pooled?.pool ?? null,
		options,
		{},
	);
}
