/**
 * ONNX models through onnxruntime-node. Execution providers are tried in the order asked
 * (CUDA, say, then CPU); one this build lacks, or that fails to start, is passed over with a
 * warning, and the CPU provider is always the last resort. Graphs are optimised fully
 * ("all"), and onnxruntime's thread pools are sized from the load options, never left to its
 * default of every core.
 */
import * as fs from "node:fs/promises";
import type * as Ort from "onnxruntime-node";
import { InvalidInputError, ModelLoadError } from "../../errors";
import { reasonOf } from "../../files/error-reasons";
import type { Tensor } from "../../inference/tensor";
import { oipDatatypeOfOrtType } from "../../onnx/onnx-element-types";
import type { ModelSchema, TensorSpec } from "../../model-spec/model-schema";
import type { LoadedModel, ModelRuntime, RuntimeLoadOptions } from "../model-runtime";
import {
	resolveRuntimeLoadOptions,
	type ResolvedRuntimeLoadOptions,
} from "../runtime-load-options";
import { disposedError, loadError, matchInputs, modelRef, selectOutputs } from "../runtime-tensors";
import { providerUnavailableReason } from "./onnx-execution-providers";
import { fromOrtTensor, toOrtTensor } from "./onnx-tensors";

const LABEL = "ONNX";

/**
 * memoryBytes = file size × ONNX_MEMORY_FACTOR + ONNX_SESSION_BYTES. A model file is nearly all
 * initializers; the session keeps them as tensors, and full optimisation pre-packs the weights
 * of MatMul/Gemm/Conv into a second, kernel-friendly copy. Measured (onnxruntime-node 1.30,
 * CPU, one thread): a 16.8 MB file of four 1024×1024 MatMuls grew the process by 28.6 MB
 * (1.7×) per loaded session after a first run; a tiny graph by well under 1 MiB.
 */
export const ONNX_MEMORY_FACTOR = 2;
export const ONNX_SESSION_BYTES = 1024 * 1024;

type OrtModule = typeof Ort;

export class OnnxRuntime implements ModelRuntime {
	readonly format = "onnx" as const;

	async load(filePath: string, options?: RuntimeLoadOptions): Promise<LoadedModel> {
		const resolved = resolveRuntimeLoadOptions(options);
		let ort: OrtModule;
		let fileBytes: number;
		try {
			// Loaded on first use: a node (or thread) that never runs ONNX never loads the addon.
			ort = await import("onnxruntime-node");
			fileBytes = (await fs.stat(filePath)).size;
		} catch (error) {
			throw loadError(filePath, LABEL, error);
		}
		const { session, provider } = await this.createSession(ort, filePath, resolved);
		let schema: ModelSchema;
		try {
			schema = {
				inputs: session.inputMetadata.map(value => tensorSpec("input", value)),
				outputs: session.outputMetadata.map(value => tensorSpec("output", value)),
			};
		} catch (error) {
			await session.release();
			throw loadError(filePath, LABEL, error);
		}
		const memoryBytes = fileBytes * ONNX_MEMORY_FACTOR + ONNX_SESSION_BYTES;
		return new OnnxModel(ort, session, modelRef(filePath), schema, provider, memoryBytes);
	}

	/** The first provider asked for that loads, CPU at the latest. */
	private async createSession(
		ort: OrtModule,
		filePath: string,
		options: ResolvedRuntimeLoadOptions,
	): Promise<{ session: Ort.InferenceSession; provider: string }> {
		const wanted = options.executionProviders.includes("cpu")
			? options.executionProviders
			: [...options.executionProviders, "cpu"];
		const supported = ort.listSupportedBackends();
		const passedOver: string[] = [];
		for (const provider of wanted) {
			const unavailable = providerUnavailableReason(provider, supported);
			if (unavailable !== undefined) {
				passedOver.push(`'${provider}': ${unavailable}`);
				continue;
			}
			try {
				const session = await ort.InferenceSession.create(
					filePath,
					sessionOptions(provider, options),
				);
				if (passedOver.length > 0)
					options.warn(
						`${LABEL}: running on '${provider}' instead of ${passedOver.join("; ")}.`,
					);
				return { session, provider };
			} catch (error) {
				// The CPU provider failing is the file's failing: there is nothing left to try.
				if (provider === "cpu") throw loadError(filePath, "onnxruntime", error);
				passedOver.push(`'${provider}': it failed to start (${reasonOf(error, filePath)})`);
			}
		}
		throw new ModelLoadError(modelRef(filePath), "no execution provider could load it"); // cpu is last: unreachable
	}
}

function sessionOptions(
	provider: string,
	options: ResolvedRuntimeLoadOptions,
): Ort.InferenceSession.SessionOptions {
	return {
		executionProviders: [provider],
		graphOptimizationLevel: "all",
		intraOpNumThreads: options.intraOpThreads,
		interOpNumThreads: options.interOpThreads,
		// Inter-op threads only run in parallel mode.
		executionMode: options.interOpThreads > 1 ? "parallel" : "sequential",
		logSeverityLevel: 3,
	};
}

/** As the importer reads it: symbolic and unknown dimensions become -1. */
function tensorSpec(kind: string, value: Ort.InferenceSession.ValueMetadata): TensorSpec {
	const datatype = value.isTensor ? oipDatatypeOfOrtType(value.type) : undefined;
	if (!value.isTensor || datatype === undefined)
		throw new TypeError(
			`${kind} '${value.name}' is not a tensor of an Open Inference Protocol datatype`,
		);
	const shape = value.shape.map(dim => (typeof dim === "number" && dim >= 0 ? dim : -1));
	return { name: value.name, datatype, shape };
}

class OnnxModel implements LoadedModel {
	readonly format = "onnx" as const;
	private session: Ort.InferenceSession | undefined;
	/** Runs in flight, so that dispose waits for them. */
	private running = 0;
	private idle: (() => void) | null = null;
	/** Every output's name, in the schema's order: what a run without `outputNames` fetches. */
	private readonly allOutputs: string[];

	constructor(
		private readonly ort: OrtModule,
		session: Ort.InferenceSession,
		private readonly ref: string,
		readonly schema: ModelSchema,
		readonly executionProvider: string,
		readonly memoryBytes: number,
	) {
		this.session = session;
		this.allOutputs = schema.outputs.map(output => output.name);
	}

	async run(inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
		const session = this.session;
		if (session === undefined) throw disposedError(this.ref);
		const ordered = matchInputs(this.schema.inputs, inputs);
		const names =
			outputNames === undefined
				? this.allOutputs
				: selectOutputs(this.schema.outputs, outputNames);
		if (names.length === 0) return [];
		const feeds: Record<string, Ort.Tensor> = {};
		for (const tensor of ordered) feeds[tensor.name] = toOrtTensor(this.ort, tensor);
		this.running++;
		let results: Ort.InferenceSession.ReturnType;
		try {
			results = await session.run(feeds, names);
		} catch (error) {
			// Types and fixed dimensions were checked; what is left is a size the graph refuses.
			throw new InvalidInputError(`onnxruntime could not run the batch: ${reasonOf(error)}`);
		} finally {
			if (--this.running === 0) this.idle?.();
		}
		// Only several outputs can share a buffer: one alone needs no record of them.
		const claimed = names.length > 1 ? new Set<ArrayBufferLike>() : null;
		const outputs = new Array<Tensor>(names.length);
		for (let i = 0; i < names.length; i++)
			outputs[i] = fromOrtTensor(names[i], results[names[i]] as Ort.Tensor, claimed);
		return outputs;
	}

	/** Waits for runs in flight, then releases the session's native memory. */
	async dispose(): Promise<void> {
		const session = this.session;
		if (session === undefined) return;
		this.session = undefined;
		if (this.running > 0) await new Promise<void>(resolve => (this.idle = resolve));
		await session.release();
	}
}
