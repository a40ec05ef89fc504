/**
 * The training form's checks, the same bounds the API applies (JOB_SPEC_RULE in
 * lib/training/job-spec.ts, which the browser cannot load: it compiles its validator with
 * `new Function`, which the console's policy forbids). A unit test keeps the bounds equal.
 */
export const JOB_FORM_BOUNDS = {
	epochs: { min: 1, max: 10_000, integer: true },
	batchSize: { min: 1, max: 65_536, integer: true },
	learningRate: { min: 0, max: 10, integer: false, exclusiveMin: true },
	seed: { min: 0, max: 2 ** 32 - 1, integer: true },
} as const;

export const OPTIMIZERS = ["adam", "sgd", "rmsprop"] as const;

export interface JobForm {
	target: string;
	dataset: string;
	labelColumn: string;
	epochs: string;
	batchSize: string;
	learningRate: string;
	optimizer: string;
	seed: string;
}

/** The problems of `form` by field (empty when it may be sent), and the spec to send. */
export function checkJobForm(form: JobForm): {
	errors: Partial<Record<keyof JobForm, string>>;
	spec: Record<string, unknown>;
} {
	const errors: Partial<Record<keyof JobForm, string>> = {};
	const spec: Record<string, unknown> = {};
	for (const field of ["target", "dataset", "labelColumn"] as const) {
		const value = form[field].trim();
		if (value === "") errors[field] = "required";
		else if (value.length > 256) errors[field] = "at most 256 characters";
		else spec[field] = value;
	}
	for (const field of Object.keys(JOB_FORM_BOUNDS) as Array<keyof typeof JOB_FORM_BOUNDS>) {
		const text = form[field].trim();
		if (text === "") continue;
		const bounds = JOB_FORM_BOUNDS[field];
		const value = Number(text);
		if (!Number.isFinite(value)) errors[field] = "a number";
		else if (bounds.integer && !Number.isInteger(value)) errors[field] = "a whole number";
		else if ("exclusiveMin" in bounds ? value <= bounds.min : value < bounds.min)
			errors[field] = `${"exclusiveMin" in bounds ? "above" : "at least"} ${bounds.min}`;
		else if (value > bounds.max) errors[field] = `at most ${bounds.max}`;
		else spec[field] = value;
	}
	if (!(OPTIMIZERS as readonly string[]).includes(form.optimizer))
		errors.optimizer = `one of ${OPTIMIZERS.join(", ")}`;
	else spec.optimizer = form.optimizer;
	return { errors, spec };
}
