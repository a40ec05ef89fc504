/**
 * The runtimes by model format, one implementation each, resolved by name. Each runtime loads its
 * native or wasm engine on first use, so resolving one costs nothing.
 */
import { InvalidInputError } from "../errors";
import { MODEL_FORMATS, type ModelFormat } from "../model-spec/model-schema";
import type { ModelRuntime } from "./model-runtime";
import { OnnxRuntime } from "./onnx/onnx-runtime";
import { TfjsRuntime } from "./tfjs/tfjs-runtime";
import { XgboostRuntime } from "./xgboost/xgboost-runtime";

export type { LoadedModel, ModelRuntime, RuntimeLoadOptions } from "./model-runtime";
export {
	DEFAULT_RUNTIME_LOAD_OPTIONS,
	resolveRuntimeLoadOptions,
	type ResolvedRuntimeLoadOptions,
} from "./runtime-load-options";
export { OnnxRuntime } from "./onnx/onnx-runtime";
export { TfjsRuntime } from "./tfjs/tfjs-runtime";
export { XgboostRuntime } from "./xgboost/xgboost-runtime";
export {
	compileXgboostForest,
	XgboostForest,
	type XgboostForestArrays,
} from "./xgboost/xgboost-forest";

const RUNTIMES: Readonly<Record<ModelFormat, ModelRuntime>> = {
	onnx: new OnnxRuntime(),
	tfjs: new TfjsRuntime(),
	"xgboost-json": new XgboostRuntime(),
};

/**
 * @throws InvalidInputError for a format modelfleet has no runtime for
 */
export function resolveRuntime(format: ModelFormat): ModelRuntime {
	if (!Object.hasOwn(RUNTIMES, format))
		throw new InvalidInputError(
			`No runtime for model format '${String(format)}'; the formats are: ${MODEL_FORMATS.join(", ")}.`,
			{ format },
		);
	return RUNTIMES[format];
}
