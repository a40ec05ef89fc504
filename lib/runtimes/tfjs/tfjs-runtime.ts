/**
 * TF.js models, layers or graph, from the tar (or .tar.gz) the importer accepted: model.json and
 * its weight files, loaded from memory on the WebAssembly backend (lib/runtimes/tfjs/load-tfjs.ts;
 * the cpu backend where wasm cannot start). Each batch runs inside tf.tidy; outputs are read
 * back to typed arrays and every tensor is disposed before the batch returns.
 */
import * as fs from "node:fs/promises";
import type { GraphModel, LayersModel, Tensor as TfTensor, io } from "@tensorflow/tfjs";
import { InvalidInputError } from "../../errors";
import { reasonOf } from "../../files/error-reasons";
import type { Tensor, TensorData } from "../../inference/tensor";
import { readTarFiles } from "../../files/tar-files";
import { tfjsArtifactsFromFiles } from "./tfjs-artifacts";
import { loadTfjs, type TfModule } from "./load-tfjs";
import type { ModelSchema } from "../../model-spec/model-schema";
import type { LoadedModel, ModelRuntime, RuntimeLoadOptions } from "../model-runtime";
import { resolveRuntimeLoadOptions, warnUnlessPreferred } from "../runtime-load-options";
import { disposedError, loadError, matchInputs, modelRef, selectOutputs } from "../runtime-tensors";
import {
	graphModelSchema,
	layersModelSchema,
	oipDatatypeOfTfDtype,
	TFJS_DTYPE_OF,
	type GraphSignature,
} from "./tfjs-schema";
import { executeGraph } from "./tfjs-graph-execution";

const LABEL = "TF.js";

/** Bytes a weight takes once loaded: quantized weights are dequantized to their dtype. */
const LOADED_BYTES_PER_ELEMENT: Readonly<Record<string, number>> = {
	float32: 4,
	int32: 4,
	bool: 1,
	complex64: 8,
};

/**
 * memoryBytes: the weights as TF.js holds them in wasm memory (each weight's elements × its
 * dtype's size, so quantized files count at their dequantized size), or the weight files'
 * bytes where those are more (string weights).
 */
export function tfjsWeightMemoryBytes(artifacts: io.ModelArtifacts, weightBytes: number): number {
	let loaded = 0;
	for (const spec of artifacts.weightSpecs ?? []) {
		const size = LOADED_BYTES_PER_ELEMENT[spec.dtype] ?? 0;
		loaded += size * spec.shape.reduce((a, b) => a * b, 1);
	}
	return Math.max(loaded, weightBytes);
}

export class TfjsRuntime implements ModelRuntime {
	readonly format = "tfjs" as const;

	async load(filePath: string, options?: RuntimeLoadOptions): Promise<LoadedModel> {
		const resolved = resolveRuntimeLoadOptions(options);
		try {
			const files = await readTarFiles(filePath, {
				gzip: await isGzip(filePath),
				...(options?.archiveLimits ? { limits: options.archiveLimits } : {}),
			});
			const { artifacts, modelType, weightBytes } = tfjsArtifactsFromFiles(files);
			files.clear();
			const tf = await loadTfjs();
			const memoryBytes = tfjsWeightMemoryBytes(artifacts, weightBytes);
			const handler = tf.io.fromMemory(artifacts);
			let model: TfjsModel;
			if (modelType === "layers") {
				const layers = await tf.loadLayersModel(handler, { strict: true });
				model = new TfjsModel(tf, { layers }, modelRef(filePath), memoryBytes);
			} else {
				const graph = await tf.loadGraphModel(handler);
				try {
					const signature = (artifacts.signature ?? {}) as GraphSignature;
					const { schema } = await graphModelSchema(tf, graph, signature);
					model = new TfjsModel(tf, { graph, schema }, modelRef(filePath), memoryBytes);
				} catch (error) {
					graph.dispose();
					throw error;
				}
			}
			warnUnlessPreferred(resolved, LABEL, model.executionProvider, [
				"cpu",
				model.executionProvider,
			]);
			return model;
		} catch (error) {
			throw loadError(filePath, LABEL, error);
		}
	}
}

type Loaded = { layers: LayersModel } | { graph: GraphModel; schema: ModelSchema };

class TfjsModel implements LoadedModel {
	readonly format = "tfjs" as const;
	readonly schema: ModelSchema;
	/** The TF.js backend: "wasm", "cpu", or "tensorflow" with tfjs-node. */
	readonly executionProvider: string;
	private loaded: Loaded | undefined;
	/** A layers model's output names (its layers') → the symbolic tensor names `execute` takes. */
	private readonly symbolicNames = new Map<string, string>();
	/** Graph runs in flight (executeAsync spans awaits): dispose waits for them. */
	private readonly running = new Set<Promise<unknown>>();

	constructor(
		private readonly tf: TfModule,
		loaded: Loaded,
		private readonly ref: string,
		readonly memoryBytes: number,
	) {
		this.loaded = loaded;
		this.executionProvider = tf.getBackend();
		if ("layers" in loaded) {
			this.schema = layersModelSchema(loaded.layers);
			loaded.layers.outputs.forEach((tensor, i) =>
				this.symbolicNames.set(this.schema.outputs[i].name, tensor.name),
			);
		} else {
			this.schema = loaded.schema;
		}
	}

	async run(inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
		const loaded = this.loaded;
		if (loaded === undefined) throw disposedError(this.ref);
		const ordered = matchInputs(this.schema.inputs, inputs);
		const names = selectOutputs(this.schema.outputs, outputNames);
		if (names.length === 0) return [];
		const { tf } = this;
		let outputs: TfTensor[];
		try {
			if ("layers" in loaded) {
				const symbolic = names.map(name => this.symbolicNames.get(name) as string);
				outputs = tf.tidy(() => {
					const result = loaded.layers.execute(
						ordered.map(t => this.toTf(t)),
						symbolic,
					);
					return Array.isArray(result) ? result : [result];
				});
			} else {
				const feeds = () =>
					Object.fromEntries(ordered.map(tensor => [tensor.name, this.toTf(tensor)]));
				const running = executeGraph(tf, loaded.graph, feeds, names);
				this.running.add(running);
				try {
					outputs = await running;
				} finally {
					this.running.delete(running);
				}
			}
		} catch (error) {
			// Types and fixed dimensions were checked; what is left is a size the model refuses.
			throw new InvalidInputError(`TF.js could not run the batch: ${reasonOf(error)}`);
		}
		try {
			const values = await Promise.all(outputs.map(t => t.data()));
			return outputs.map((t, i) => ({
				name: names[i],
				datatype: oipDatatypeOfTfDtype(t.dtype),
				shape: [...t.shape],
				data: values[i] as TensorData,
			}));
		} finally {
			tf.dispose(outputs);
		}
	}

	private toTf(tensor: Tensor): TfTensor {
		const dtype = TFJS_DTYPE_OF[tensor.datatype];
		if (dtype === undefined)
			throw new TypeError(`a TF.js model takes no ${tensor.datatype} tensors`); // the schema has none
		return this.tf.tensor(
			tensor.data as Float32Array | Int32Array | Uint8Array | string[],
			tensor.shape,
			dtype,
		);
	}

	/** Waits for runs in flight, then frees the weights. */
	async dispose(): Promise<void> {
		const loaded = this.loaded;
		this.loaded = undefined;
		if (loaded === undefined) return;
		await Promise.allSettled(this.running);
		if ("layers" in loaded) loaded.layers.dispose();
		else loaded.graph.dispose();
	}
}

async function isGzip(filePath: string): Promise<boolean> {
	const file = await fs.open(filePath, "r");
	try {
		const magic = new Uint8Array(2);
		const { bytesRead } = await file.read(magic, 0, 2, 0);
		return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
	} finally {
		await file.close();
	}
}
