/**
 * XGBoost JSON models, run by our own tree walker (./xgboost-forest.ts) in JavaScript. Input and
 * output are as the importer's schema says: one tensor "input" [batch, numFeatures] (FP32, or
 * FP64 rounded to float32 as XGBoost's DMatrix stores it; NaN for missing), one output "predict".
 */
import * as fs from "node:fs/promises";
import { ModelLoadError } from "../../errors";
import type { Tensor } from "../../inference/tensor";
import { readXgboostJsonModel, xgboostSchema } from "./xgboost-json-model";
import type { ModelSchema, OipDatatype } from "../../model-spec/model-schema";
import type { LoadedModel, ModelRuntime, RuntimeLoadOptions } from "../model-runtime";
import { resolveRuntimeLoadOptions, warnUnlessPreferred } from "../runtime-load-options";
import { disposedError, loadError, matchInputs, modelRef, selectOutputs } from "../runtime-tensors";
import { unsupportedXgboostFeature, XgboostForest } from "./xgboost-forest";

const LABEL = "XGBoost JSON";
const INPUT_DATATYPES: readonly OipDatatype[] = ["FP32", "FP64"];

export class XgboostRuntime implements ModelRuntime {
	readonly format = "xgboost-json" as const;

	async load(filePath: string, options?: RuntimeLoadOptions): Promise<LoadedModel> {
		const resolved = resolveRuntimeLoadOptions(options);
		let forest: XgboostForest;
		let schema: ModelSchema;
		try {
			// One string of the whole file: V8 caps strings near 512 MiB, far above tree models.
			const model = readXgboostJsonModel(JSON.parse(await fs.readFile(filePath, "utf8")));
			const unsupported = unsupportedXgboostFeature(model);
			if (unsupported !== undefined)
				throw new ModelLoadError(modelRef(filePath), unsupported);
			forest = XgboostForest.fromModel(model);
			schema = xgboostSchema(model);
		} catch (error) {
			throw loadError(filePath, LABEL, error);
		}
		warnUnlessPreferred(resolved, LABEL, "js", ["cpu", "js"]);
		return new XgboostModel(forest, modelRef(filePath), schema);
	}
}

class XgboostModel implements LoadedModel {
	readonly format = "xgboost-json" as const;
	readonly executionProvider = "js";
	/** The walker's typed arrays: all it holds once the JSON is dropped. */
	readonly memoryBytes: number;
	private forest: XgboostForest | undefined;

	constructor(
		forest: XgboostForest,
		private readonly ref: string,
		readonly schema: ModelSchema,
	) {
		this.forest = forest;
		this.memoryBytes = forest.byteLength;
	}

	async run(inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
		const forest = this.forest;
		if (forest === undefined) throw disposedError(this.ref);
		const [input] = matchInputs(this.schema.inputs, inputs, () => INPUT_DATATYPES);
		const names = selectOutputs(this.schema.outputs, outputNames);
		if (names.length === 0) return [];
		const rows = input.shape[0];
		const x =
			input.datatype === "FP32"
				? (input.data as Float32Array)
				: Float32Array.from(input.data as Float64Array);
		const [output] = this.schema.outputs;
		return [
			{
				name: output.name,
				datatype: "FP32",
				shape: [rows, ...output.shape.slice(1)],
				data: forest.predict(x, rows),
			},
		];
	}

	async dispose(): Promise<void> {
		this.forest = undefined;
	}
}
