import * as fs from "node:fs";
import { InvalidInputError, ModelLoadError } from "../../../../lib/errors";
import type { Tensor } from "../../../../lib/inference/tensor";
import { XgboostRuntime } from "../../../../lib/runtimes/xgboost/xgboost-runtime";
import {
	maxAbsoluteError,
	rejection,
	rowsAsFloat32,
	temporaryFolder,
	xgboostFixture,
} from "../runtime-test-support";

const runtime = new XgboostRuntime();
const files = temporaryFolder();

function input(x: Float32Array | Float64Array, features: number): Tensor {
	return {
		name: "input",
		datatype: x instanceof Float32Array ? "FP32" : "FP64",
		shape: [x.length / features, features],
		data: x,
	};
}

describe("XgboostRuntime", () => {
	it.each([
		["iris-binary-logistic", [-1]],
		["iris-multi-softprob", [-1, 3]],
		["iris-reg-squarederror", [-1]],
	])("runs %s to XGBoost's saved predictions, missing values included", async (name, shape) => {
		const fixture = xgboostFixture(name);
		const model = await runtime.load(fixture.modelPath);
		expect(model.format).toBe("xgboost-json");
		expect(model.executionProvider).toBe("js");
		expect(model.schema.outputs).toEqual([{ name: "predict", datatype: "FP32", shape }]);
		const features = fixture.rows[0].length;
		const [output] = await model.run([input(rowsAsFloat32(fixture.rows), features)]);
		expect(output.name).toBe("predict");
		expect(output.datatype).toBe("FP32");
		expect(output.shape).toEqual([fixture.rows.length, ...shape.slice(1)]);
		const error = maxAbsoluteError(output.data as Float32Array, fixture.predictions.flat());
		expect(error).toBeLessThanOrEqual(1e-6);
	});

	it("takes FP64 rows as float32, as XGBoost's DMatrix stores them, and batches of 1", async () => {
		const fixture = xgboostFixture("iris-multi-softprob");
		const model = await runtime.load(fixture.modelPath);
		const x64 = Float64Array.from(rowsAsFloat32(fixture.rows));
		const [all] = await model.run([input(x64, 4)]);
		const [one] = await model.run([input(x64.subarray(8, 12), 4)]);
		expect(one.shape).toEqual([1, 3]);
		expect([...(one.data as Float32Array)]).toEqual([
			...(all.data as Float32Array).subarray(6, 9),
		]);
	});

	it("gives the outputs asked for: none, or predict", async () => {
		const model = await runtime.load(xgboostFixture("iris-reg-squarederror").modelPath);
		const x = input(new Float32Array(6), 3);
		expect(await model.run([x], [])).toEqual([]);
		expect((await model.run([x], ["predict"])).map(t => t.name)).toEqual(["predict"]);
		const error = await rejection(model.run([x], ["margin"]));
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(error.message).toMatch(/no output 'margin'; its outputs are: predict/);
	});

	it("refuses rows of the wrong width, datatype or name", async () => {
		const model = await runtime.load(xgboostFixture("iris-binary-logistic").modelPath);
		const wide = input(new Float32Array(10), 5);
		expect(await rejection(model.run([wide]))).toBeInstanceOf(InvalidInputError);
		const ints: Tensor = {
			name: "input",
			datatype: "INT32",
			shape: [1, 4],
			data: new Int32Array(4),
		};
		expect((await rejection(model.run([ints]))).message).toMatch(
			/INT32, but the model takes FP32 or FP64/,
		);
		const named = { ...input(new Float32Array(4), 4), name: "features" };
		expect((await rejection(model.run([named]))).message).toMatch(/no input 'features'/);
	});

	it("reports its memory as the walker's arrays, and cannot run once disposed", async () => {
		const model = await runtime.load(xgboostFixture("iris-multi-softprob").modelPath);
		expect(model.memoryBytes).toBeGreaterThan(1000);
		expect(model.memoryBytes).toBeLessThan(20_000);
		await model.dispose();
		await model.dispose();
		const error = await rejection(model.run([input(new Float32Array(4), 4)]));
		expect(error).toBeInstanceOf(ModelLoadError);
		expect(error.message).toMatch(/disposed/);
	});

	it("warns and runs in JavaScript when CUDA is asked for", async () => {
		const warn = jest.fn();
		const model = await runtime.load(xgboostFixture("iris-binary-logistic").modelPath, {
			executionProviders: ["cuda", "cpu"],
			warn,
		});
		expect(model.executionProvider).toBe("js");
		expect(warn).toHaveBeenCalledWith(expect.stringMatching(/'cuda' is not available.*'js'/));
		await runtime.load(xgboostFixture("iris-binary-logistic").modelPath, {
			executionProviders: ["cpu"],
			warn,
		});
		expect(warn).toHaveBeenCalledTimes(1);
	});

	it.each([
		[
			"truncated JSON",
			() =>
				fs.readFileSync(xgboostFixture("iris-binary-logistic").modelPath).subarray(0, 500),
		],
		["JSON that is not a Booster", () => JSON.stringify({ hello: "world" })],
		["binary garbage", () => Buffer.from([0, 1, 2, 255, 254])],
	])("refuses %s with a ModelLoadError, without the file's path", async (label, bytes) => {
		const filePath = files.file(`corrupt-${label.replace(/\W/g, "-")}.json`, bytes());
		const error = await rejection(runtime.load(filePath));
		expect(error).toBeInstanceOf(ModelLoadError);
		expect(error.message).toMatch(
			/^Model corrupt-.*\.json could not be loaded: XGBoost JSON cannot load it: /,
		);
		expect(error.message).not.toContain(filePath);
	});

	it("gives a ModelLoadError for a file that is not there", async () => {
		const error = await rejection(runtime.load(files.file("missing.json")));
		expect(error).toBeInstanceOf(ModelLoadError);
		expect(error.message).toMatch(/the file cannot be read/);
	});
});
