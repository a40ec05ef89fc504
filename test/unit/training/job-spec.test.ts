import { InvalidInputError } from "../../../lib/errors";
import { PRESETS, validateJobSpec } from "../../../lib/training/job-spec";

const MINIMAL = { dataset: "iris", labelColumn: "label" };

function refusal(input: unknown): InvalidInputError {
	try {
		validateJobSpec(input);
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		return error as InvalidInputError;
	}
	throw new Error("expected the spec to be refused");
}

describe("validateJobSpec", () => {
	it("fills every field with its default", () => {
		const spec = validateJobSpec(MINIMAL, () => 1234);
		expect(spec).toEqual({
			dataset: "iris",
			labelColumn: "label",
			features: null,
			task: "classification",
			model: { layers: PRESETS.small, preset: "small" },
			optimizer: "adam",
			learningRate: 0.01,
			epochs: 50,
			batchSize: 32,
			earlyStopping: null,
			checkpointEvery: 5,
			resources: { gpu: false, memoryBytes: null },
			priority: 0,
			seed: 1234,
			split: { train: 0.7, validation: 0.15, test: 0.15 },
			acceptance: {},
			deadlineMs: null,
			workers: 1,
		});
	});

	it("takes workers for data-parallel training, an integer from 1 to 64, naming the field when refused", () => {
		expect(validateJobSpec({ ...MINIMAL, workers: 4 }).workers).toBe(4);
		for (const workers of [0, 1.5, 65, "2"]) {
			const error = refusal({ ...MINIMAL, workers });
			expect(error.data).toMatchObject({ field: "workers" });
			expect(error.message).toMatch(/workers/);
		}
	});

	it("keeps what the client gave, layers completed with relu and no dropout", () => {
		const spec = validateJobSpec({
			...MINIMAL,
			task: "regression",
			model: { layers: [{ units: 16, activation: "tanh", dropout: 0.1 }, { units: 8 }] },
			optimizer: "rmsprop",
			learningRate: 0.001,
			epochs: 5,
			batchSize: 8,
			earlyStopping: { monitor: "val_mae", patience: 3 },
			checkpointEvery: 0,
			resources: { gpu: true, memoryBytes: 1 << 30 },
			priority: 10,
			seed: 7,
			split: { train: 0.8, validation: 0.1, test: 0.1 },
			acceptance: { r2: { min: 0.5 }, mae: { max: 2 } },
			deadlineMs: 60_000,
		});
		expect(spec.model).toEqual({
			layers: [
				{ units: 16, activation: "tanh", dropout: 0.1 },
				{ units: 8, activation: "relu", dropout: 0 },
			],
			preset: null,
		});
		expect(spec.earlyStopping).toEqual({
			monitor: "val_mae",
			patience: 3,
			minDelta: 0,
			restoreBestWeights: true,
		});
		expect(spec.resources).toEqual({ gpu: true, memoryBytes: 1 << 30 });
		expect(spec.acceptance).toEqual({ r2: { min: 0.5 }, mae: { max: 2 } });
	});

	it("picks a random seed when none is given, so that lineage can record it", () => {
		const spec = validateJobSpec(MINIMAL);
		expect(Number.isInteger(spec.seed)).toBe(true);
	});

	it("does not change the object it was given", () => {
		const input = { ...MINIMAL, model: { preset: "large" } };
		validateJobSpec(input);
		expect(input).toEqual({ ...MINIMAL, model: { preset: "large" } });
	});

	describe("refuses, naming the field,", () => {
		it.each([
			[{ labelColumn: "label" }, "dataset"],
			[{ ...MINIMAL, task: "clustering" }, "task"],
			[{ ...MINIMAL, epochs: 0 }, "epochs"],
			[{ ...MINIMAL, epochs: 2.5 }, "epochs"],
			[{ ...MINIMAL, learningRate: -1 }, "learningRate"],
			[{ ...MINIMAL, optimizer: "lbfgs" }, "optimizer"],
			[
				{ ...MINIMAL, model: { layers: [{ units: 8, activation: "swish" }] } },
				"model.layers[0].activation",
			],
			[{ ...MINIMAL, model: { layers: [{ units: 0 }] } }, "model.layers[0].units"],
			[
				{ ...MINIMAL, model: { layers: [{ units: 4, dropout: 1 }] } },
				"model.layers[0].dropout",
			],
			[{ ...MINIMAL, model: { preset: "huge" } }, "model.preset"],
			[{ ...MINIMAL, earlyStopping: { monitor: "val_f1" } }, "earlyStopping.monitor"],
			[{ ...MINIMAL, resources: { gpu: "yes" } }, "resources.gpu"],
			[{ ...MINIMAL, priority: 0.5 }, "priority"],
			[{ ...MINIMAL, acceptance: { accuracy: { min: "high" } } }, "acceptance.accuracy.min"],
			[{ ...MINIMAL, learningrate: 0.1 }, "spec"],
		])("%j → %s", (input, field) => {
			const error = refusal(input);
			expect(error.code).toBe(400);
			expect(error.data?.field).toBe(field);
			if (field !== "spec") expect(error.message).toContain(field);
		});

		it("a value outside an enum, listing the allowed ones", () => {
			const error = refusal({ ...MINIMAL, optimizer: "lbfgs" });
			expect(error.message).toContain(
				'optimizer must be one of sgd, adam, rmsprop; got "lbfgs"',
			);
		});

		it("an unknown field, by name", () => {
			expect(refusal({ ...MINIMAL, learningrate: 0.1 }).message).toMatch(/learningrate/);
		});

		it("layers and a preset together", () => {
			const error = refusal({
				...MINIMAL,
				model: { layers: [{ units: 4 }], preset: "small" },
			});
			expect(error.data?.field).toBe("model");
		});

		it("split fractions that do not sum to 1", () => {
			const error = refusal({
				...MINIMAL,
				split: { train: 0.5, validation: 0.1, test: 0.1 },
			});
			expect(error.data?.field).toBe("split");
			expect(error.message).toMatch(/sum to 0.7/);
		});

		it("a validation monitor without a validation split", () => {
			const error = refusal({
				...MINIMAL,
				split: { train: 0.8, validation: 0, test: 0.2 },
				earlyStopping: { monitor: "val_loss" },
			});
			expect(error.data?.field).toBe("earlyStopping.monitor");
		});

		it("a monitor or threshold of the other task", () => {
			expect(refusal({ ...MINIMAL, earlyStopping: { monitor: "val_mae" } }).data?.field).toBe(
				"earlyStopping.monitor",
			);
			const error = refusal({ ...MINIMAL, acceptance: { r2: { min: 0.9 } } });
			expect(error.data?.field).toBe("acceptance.r2");
			expect(error.message).toMatch(/not a classification metric/);
		});

		it("a threshold with neither bound, or min above max", () => {
			expect(refusal({ ...MINIMAL, acceptance: { f1: {} } }).data?.field).toBe(
				"acceptance.f1",
			);
			expect(
				refusal({ ...MINIMAL, acceptance: { f1: { min: 0.9, max: 0.5 } } }).message,
			).toMatch(/min 0.9 is above max 0.5/);
		});

		it("the label among the features", () => {
			expect(refusal({ ...MINIMAL, features: ["x", "label"] }).data?.field).toBe("features");
		});

		it("something that is not an object", () => {
			expect(refusal([1, 2]).data?.field).toBe("spec");
		});
	});

	it("defaults the early-stopping monitor to loss when there is no validation split", () => {
		const spec = validateJobSpec({
			...MINIMAL,
			split: { train: 0.9, validation: 0, test: 0.1 },
			earlyStopping: {},
		});
		expect(spec.earlyStopping?.monitor).toBe("loss");
	});

	it("reads an optional field sent as null as left out, nested ones too", () => {
		const nulls = {
			...MINIMAL,
			task: null,
			model: { layers: null, preset: "small" },
			epochs: null,
			earlyStopping: null,
			resources: null,
			split: null,
			deadlineMs: null,
		};
		expect(validateJobSpec(nulls, () => 1)).toEqual(
			validateJobSpec({ ...MINIMAL, model: { preset: "small" } }, () => 1),
		);
		// A threshold of nulls is one of nothing: refused as `{}` is.
		expect(refusal({ ...MINIMAL, acceptance: { accuracy: { min: null } } }).message).toBe(
			refusal({ ...MINIMAL, acceptance: { accuracy: {} } }).message,
		);
		expect(refusal({ ...MINIMAL, dataset: null }).data).toMatchObject({ field: "dataset" });
	});
});
