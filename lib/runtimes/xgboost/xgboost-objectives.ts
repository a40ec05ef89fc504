/**
 * What each XGBoost objective does at prediction time, in float32 as XGBoost computes it:
 * the link that turns base_score (stored in probability space) into a starting margin
 * (ObjFunction::ProbToMargin) and the transform from margins to predictions (PredTransform).
 * No Node APIs: this runs inside worker threads as well.
 */

const f = Math.fround;

/** Objectives whose margin is a log-odds: base_score is a probability. */
const LOGIT_LINK = new Set(["binary:logistic", "binary:logitraw", "reg:logistic"]);

/** Objectives whose margin is a log: base_score is a positive mean, the prediction exp(margin). */
const LOG_LINK = new Set([
	"count:poisson",
	"reg:gamma",
	"reg:tweedie",
	"survival:cox",
	"survival:aft",
]);

/** Objectives whose prediction is the sigmoid of the margin. */
const SIGMOID_OUTPUT = new Set(["binary:logistic", "reg:logistic"]);

/**
 * base_score → the margin every row starts from. XGBoost 1.x and 2.x keep base_score in the
 * objective's output space: logistic objectives store a probability (margin = logit),
 * log-link ones a mean (margin = log), the rest the margin itself (multi:* included).
 */
export function baseMargin(objective: string, baseScore: number): number {
	const b = f(baseScore);
	if (LOGIT_LINK.has(objective)) return f(-Math.log(f(f(1 / b) - 1)));
	if (LOG_LINK.has(objective)) return f(Math.log(b));
	return b;
}

/** XGBoost's common::Sigmoid, step by step in float32. */
function sigmoid(x: number): number {
	return f(1 / f(f(Math.exp(Math.min(-x, 88.7))) + 1));
}

/**
 * Margins ([rows, groups], row-major) → what Booster.predict returns for the objective:
 * [rows] for one group and for multi:softmax (the class index), else [rows, groups].
 * Transforms `margins` in place where the shapes agree, and returns the predictions.
 */
export function predictionsOfMargins(
	objective: string,
	margins: Float32Array,
	rows: number,
	groups: number,
): Float32Array {
	if (objective === "multi:softmax") {
		const classes = new Float32Array(rows);
		for (let r = 0; r < rows; r++) {
			const base = r * groups;
			let best = 0;
			// The first of equal maxima wins, as std::max_element gives it.
			for (let k = 1; k < groups; k++) if (margins[base + k] > margins[base + best]) best = k;
			classes[r] = best;
		}
		return classes;
	}
	if (objective === "multi:softprob") {
		for (let r = 0; r < rows; r++) softmaxInPlace(margins, r * groups, groups);
		return margins;
	}
	const n = margins.length;
	if (SIGMOID_OUTPUT.has(objective)) {
		for (let i = 0; i < n; i++) margins[i] = sigmoid(margins[i]);
	} else if (LOG_LINK.has(objective)) {
		for (let i = 0; i < n; i++) margins[i] = Math.exp(margins[i]);
	} else if (objective === "binary:hinge") {
		for (let i = 0; i < n; i++) margins[i] = margins[i] > 0 ? 1 : 0;
	}
	return margins;
}

/** XGBoost's common::Softmax: subtract the maximum, exp and sum in float32, then divide. */
function softmaxInPlace(values: Float32Array, start: number, size: number): void {
	let max = values[start];
	for (let k = 1; k < size; k++) if (values[start + k] > max) max = values[start + k];
	let sum = 0;
	for (let k = 0; k < size; k++) {
		const e = f(Math.exp(f(values[start + k] - max)));
		values[start + k] = e;
		sum = f(sum + e);
	}
	for (let k = 0; k < size; k++) values[start + k] = values[start + k] / sum;
}
