import { InvalidInputError } from "../../../lib/errors";
import { MODEL_FORMATS, type ModelFormat } from "../../../lib/model-spec/model-schema";
import { OnnxRuntime, resolveRuntime, TfjsRuntime, XgboostRuntime } from "../../../lib/runtimes";

describe("resolveRuntime", () => {
	it("has a runtime for every model format", () => {
		for (const format of MODEL_FORMATS) expect(resolveRuntime(format).format).toBe(format);
		expect(resolveRuntime("onnx")).toBeInstanceOf(OnnxRuntime);
		expect(resolveRuntime("tfjs")).toBeInstanceOf(TfjsRuntime);
		expect(resolveRuntime("xgboost-json")).toBeInstanceOf(XgboostRuntime);
	});

	it("refuses a format it does not know", () => {
		expect(() => resolveRuntime("pickle" as ModelFormat)).toThrow(InvalidInputError);
	});
});
