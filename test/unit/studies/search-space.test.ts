import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { InvalidInputError } from "../../../lib/errors";
import {
	applyParams,
	checkSearchSpace,
	readParam,
	sampleParams,
	type SearchSpace,
} from "../../../lib/studies/search-space";
import { validateJobSpec } from "../../../lib/training/job-spec";

const base = { dataset: "iris@1", labelColumn: "label", epochs: 10 };

function refusal(space: SearchSpace): { field: string; message: string } {
	try {
		checkSearchSpace(space, base);
	} catch (err) {
		expect(err).toBeInstanceOf(InvalidInputError);
		return {
			field: (err as InvalidInputError).data!.field as string,
			message: (err as Error).message,
		};
	}
	throw new Error("not refused");
}

describe("search space", () => {
	it("accepts each kind of domain over the searchable fields", () => {
		expect(() =>
			checkSearchSpace(
				{
					learningRate: { type: "loguniform", min: 1e-4, max: 0.1 },
					batchSize: { type: "int", min: 8, max: 64, step: 8 },
					optimizer: { type: "choice", values: ["adam", "sgd"] },
					layers: { type: "int", min: 1, max: 3 },
					units: { type: "int", min: 4, max: 64 },
					dropout: { type: "uniform", min: 0, max: 0.5 },
					"layers.0.activation": { type: "choice", values: ["relu", "tanh"] },
				},
				base,
			),
		).not.toThrow();
	});

	it("refuses with the parameter named and what to do", () => {
		expect(refusal({})).toMatchObject({
			message: expect.stringMatching(/at least one parameter/),
		});
		expect(refusal({ colour: { type: "choice", values: ["red"] } })).toMatchObject({
			field: "space.colour",
			message: expect.stringMatching(/not a searchable field; use learningRate/),
		});
		expect(refusal({ learningRate: { type: "uniform", min: 0.5, max: 0.1 } }).message).toMatch(
			/min 0.5 is above max 0.1/,
		);
		expect(refusal({ learningRate: { type: "loguniform", min: 0, max: 0.1 } }).message).toMatch(
			/above 0/,
		);
		expect(refusal({ units: { type: "int", min: 1.5, max: 4 } }).message).toMatch(
			/whole-number/,
		);
		expect(refusal({ optimizer: { type: "choice", values: [] } }).message).toMatch(
			/at least one value/,
		);
		// A bound the job spec refuses: units 0, dropout 0.95, an unknown optimizer.
		expect(refusal({ units: { type: "int", min: 0, max: 8 } })).toMatchObject({
			field: "space.units",
			message: expect.stringMatching(/0 is refused: .*units/),
		});
		expect(refusal({ dropout: { type: "uniform", min: 0, max: 0.95 } }).field).toBe(
			"space.dropout",
		);
		expect(
			refusal({ optimizer: { type: "choice", values: ["adam", "lbfgs"] } }).message,
		).toMatch(/"lbfgs" is refused/);
	});

	it("samples the same point from the same seed, inside each domain", () => {
		const space: SearchSpace = {
			learningRate: { type: "loguniform", min: 1e-4, max: 0.1 },
			batchSize: { type: "int", min: 8, max: 64, step: 8 },
			optimizer: { type: "choice", values: ["adam", "sgd"] },
		};
		const a = sampleParams(space, new SeededRandom(3));
		expect(sampleParams(space, new SeededRandom(3))).toEqual(a);
		expect(sampleParams(space, new SeededRandom(4))).not.toEqual(a);
		for (let seed = 0; seed < 200; seed++) {
			const p = sampleParams(space, new SeededRandom(seed));
			expect(p.learningRate).toBeGreaterThanOrEqual(1e-4);
			expect(p.learningRate).toBeLessThanOrEqual(0.1);
			expect((p.batchSize as number) % 8).toBe(0);
			expect(["adam", "sgd"]).toContain(p.optimizer);
		}
	});

	it("writes a point into a spec, and reads it back from the validated spec", () => {
		const params = {
			layers: 3,
			units: 16,
			activation: "tanh",
			"layers.1.units": 4,
			learningRate: 0.02,
		};
		const spec = validateJobSpec(applyParams(base, params), () => 1);
		expect(spec.model.layers).toEqual([
			{ units: 16, activation: "tanh", dropout: 0 },
			{ units: 4, activation: "tanh", dropout: 0 },
			{ units: 16, activation: "tanh", dropout: 0 },
		]);
		expect(spec.learningRate).toBe(0.02);
		for (const [name, value] of Object.entries(params))
			expect(readParam(spec, name)).toBe(value);
		expect(base).toEqual({ dataset: "iris@1", labelColumn: "label", epochs: 10 });
	});
});
