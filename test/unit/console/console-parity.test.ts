/**
 * The console's copies of server rules it cannot import in the browser stay equal to them:
 * the lifecycle's moves, the states an upload may take, and the training form's bounds.
 */
import {
	checkJobForm,
	JOB_FORM_BOUNDS,
	OPTIMIZERS,
	type JobForm,
} from "../../../console/src/job-form";
import { TRANSITIONS, UPLOAD_STATES } from "../../../console/src/lifecycle";
import { INITIAL_STATES, TRANSITIONS as SERVER_TRANSITIONS } from "../../../lib/registry/lifecycle";
import {
	JOB_SPEC_RULE,
	OPTIMIZERS as SERVER_OPTIMIZERS,
	validateJobSpec,
} from "../../../lib/training/job-spec";

const FORM: JobForm = {
	target: "iris-mlp",
	dataset: "iris@1",
	labelColumn: "label",
	epochs: "50",
	batchSize: "32",
	learningRate: "0.01",
	optimizer: "adam",
	seed: "",
};

describe("the console's copies of server rules", () => {
	it("has the registry's lifecycle moves and initial states", () => {
		expect(TRANSITIONS).toEqual(SERVER_TRANSITIONS);
		expect([...UPLOAD_STATES]).toEqual([...INITIAL_STATES]);
	});

	it("bounds the training form as the job spec's rule does", () => {
		for (const [field, bounds] of Object.entries(JOB_FORM_BOUNDS)) {
			const rule = JOB_SPEC_RULE[field as keyof typeof JOB_SPEC_RULE] as {
				min?: number;
				max?: number;
				integer?: boolean;
				positive?: boolean;
			};
			expect({ field, max: bounds.max }).toEqual({ field, max: rule.max });
			if (rule.positive) expect(bounds).toMatchObject({ min: 0, exclusiveMin: true });
			else expect({ field, min: bounds.min }).toEqual({ field, min: rule.min });
			expect({ field, integer: bounds.integer }).toEqual({
				field,
				integer: rule.integer === true,
			});
		}
		expect([...OPTIMIZERS].sort()).toEqual([...SERVER_OPTIMIZERS].sort());
	});

	it("refuses what the API refuses and sends what it accepts", () => {
		const cases: Array<Partial<JobForm>> = [
			{ epochs: "0" },
			{ epochs: "10001" },
			{ epochs: "2.5" },
			{ batchSize: "0" },
			{ learningRate: "0" },
			{ learningRate: "11" },
			{ seed: "-1" },
			{ labelColumn: "" },
			{},
			{ seed: "7", learningRate: "0.5", epochs: "10000" },
		];
		for (const change of cases) {
			const { errors, spec } = checkJobForm({ ...FORM, ...change });
			const jobSpec = { ...spec };
			delete jobSpec.target;
			let apiAccepts = true;
			try {
				validateJobSpec(jobSpec);
			} catch {
				apiAccepts = false;
			}
			const formAccepts = Object.keys(errors).length === 0;
			expect({ change, formAccepts }).toEqual({
				change,
				formAccepts: formAccepts && apiAccepts,
			});
			if (!formAccepts) continue;
			expect({ change, apiAccepts }).toEqual({ change, apiAccepts: true });
		}
		expect(checkJobForm({ ...FORM, epochs: "0" }).errors.epochs).toBe("at least 1");
	});
});
