/**
 * The "convert" recipe: an imported TF.js layers model (the version's tar) as an ONNX model
 * (tfjs-to-onnx.ts), so it can be served by onnxruntime and optimized further by the ONNX
 * recipes. A layer ONNX cannot express here is refused by name before anything is written.
 * It takes no params.
 */
import { DEFAULT_ONNX_OPSET } from "../onnx/onnx-writer";
import { loadTfjs } from "../runtimes/tfjs/load-tfjs";
import type { OptimizationRecipe, RecipeOutput, RecipeRunInput } from "./recipe";
import { paramsObject } from "./recipe-params";
import { loadLayersModelTar } from "./tfjs-source";
import { layersModelToOnnx } from "./tfjs-to-onnx";

export type ConvertParams = Record<string, never>;

/** Accepts no params (absent or an empty object). */
export function validateConvertParams(raw: unknown): ConvertParams {
	paramsObject(raw, "convert", []);
	return {};
}

async function runConvert(input: RecipeRunInput<ConvertParams>): Promise<RecipeOutput> {
	const tf = await loadTfjs();
	const model = await loadLayersModelTar(tf, input.sourceFile);
	try {
		input.progress(0.3, "converting the TF.js layers to ONNX");
		const classes = model.layers.map(layer => layer.getClassName());
		const file = layersModelToOnnx(model, {
			docString: `Converted by modelfleet from the TF.js layers model '${model.name}'.`,
			metadata: { convertedFrom: "tfjs" },
		});
		input.progress(1, "converted");
		return {
			file,
			format: "onnx",
			notes: [
				`Converted ${classes.length} TF.js layers (${[...new Set(classes)].join(", ")}) to ONNX opset ${DEFAULT_ONNX_OPSET}.`,
			],
			details: { layers: classes.length, layerClasses: [...new Set(classes)] },
		};
	} finally {
		model.dispose();
	}
}

export const convertRecipe: OptimizationRecipe<ConvertParams> = {
	kind: "convert",
	description:
		"TF.js layers model → ONNX (Dense, Conv2D, pooling, BatchNormalization, activations, …); unsupported layers are refused by name.",
	sourceFormats: ["tfjs"],
	needsDataset: false,
	validateParams: validateConvertParams,
	run: runConvert,
};
