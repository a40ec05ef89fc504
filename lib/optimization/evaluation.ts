/**
 * What an optimized version is judged by before it can be promoted: its accuracy beside the
 * source's on the same rows, how closely its outputs agree with the source's (max absolute and
 * relative difference, argmax agreement), the file sizes, and a short latency/throughput sweep
 * at batch 1 and 64 on the node that made it (both models, same rows, same node).
 */
import * as ort from "onnxruntime-node";
import { readOnnxModel } from "../onnx/onnx-reader";
import { InvalidInputError } from "../errors";
import { runRows } from "./model-rows";
import type { RecipeDataset, RecipeFileFormat } from "./recipe";
import { layersModelTarOutputs } from "./tfjs-source";

/** |a − b| / max(|b|, this): values of the source smaller than this are judged absolutely. */
export const RELATIVE_FLOOR = 1e-3;

export interface LatencyPoint {
	batch: number;
	/** Median milliseconds per run. */
	p50Ms: number;
	/** Rows per second at that median. */
	rowsPerSecond: number;
	runs: number;
}

export interface OptimizationEvaluation {
	rows: number;
	/** The output compared (the source's first). */
	output: string;
	/** Share of rows whose argmax is the label; null without labels or for a non-class output. */
	accuracy: { source: number; optimized: number; delta: number } | null;
	agreement: { maxAbsDiff: number; maxRelDiff: number; argmax: number | null };
	size: { source: number; optimized: number; ratio: number };
	latency: { source: LatencyPoint[]; optimized: LatencyPoint[] };
}

export interface EvaluationOptions {
	/** Batch sizes of the latency sweep. Default [1, 64]. */
	batches?: readonly number[];
	/** Time spent per batch size and model. Default 300 ms (at least 5 runs). */
	sweepMs?: number;
	/** Skip the latency sweep (tests of agreement only). */
	skipLatency?: boolean;
	/** The source file's format: a TF.js tar runs on TF.js (no latency sweep). Default onnx. */
	sourceFormat?: RecipeFileFormat;
	/** The optimized file's format, as for the source. Default onnx. */
	optimizedFormat?: RecipeFileFormat;
}

/** One side of the comparison: its first output on the rows, and its session when ONNX. */
interface Side {
	values: Float32Array;
	session: ort.InferenceSession | null;
}

/** Runs the file on the rows: ONNX in onnxruntime, a TF.js layers tar on TF.js. */
async function runSide(
	file: Uint8Array,
	format: RecipeFileFormat,
	dataset: RecipeDataset,
): Promise<Side> {
	if (format === "tfjs")
		return {
			values: await layersModelTarOutputs(
				file,
				dataset.features,
				dataset.rows,
				dataset.width,
			),
			session: null,
		};
	if (format !== "onnx")
		throw new InvalidInputError(`an optimization cannot evaluate a ${format} model`, {
			field: "recipe",
		});
	const session = await ort.InferenceSession.create(file);
	try {
		const input = readOnnxModel(file).graph.inputs[0];
		const output = session.outputNames[0];
		const run = await runRows(session, dataset.features, dataset.rows, dataset.width, {
			inputShape: input?.shape ?? null,
			inputDatatype: input?.datatype,
			outputNames: [output],
		});
		return { values: run.outputs.get(output)!, session };
	} catch (error) {
		await session.release();
		throw error;
	}
}

/** The first output's name, from whichever side is ONNX (a TF.js tar's first output otherwise). */
function firstOutput(source: Uint8Array, optimized: Uint8Array, options: EvaluationOptions) {
	if ((options.sourceFormat ?? "onnx") === "onnx")
		return readOnnxModel(source).graph.outputs[0].name;
	if ((options.optimizedFormat ?? "onnx") === "onnx")
		return readOnnxModel(optimized).graph.outputs[0].name;
	return "output";
}

/** Long because it runs both models and gathers four kinds of measurement into one report. */
export async function evaluateOptimization(
	source: Uint8Array,
	optimized: Uint8Array,
	dataset: RecipeDataset,
	options: EvaluationOptions = {},
): Promise<OptimizationEvaluation> {
	const output = firstOutput(source, optimized, options);
	const sides: Side[] = [];
	try {
		sides.push(await runSide(source, options.sourceFormat ?? "onnx", dataset));
		sides.push(await runSide(optimized, options.optimizedFormat ?? "onnx", dataset));
		const [reference, candidate] = sides.map(s => s.values);
		if (reference.length !== candidate.length)
			throw new InvalidInputError(
				`the optimized model gives ${candidate.length} output values for the rows, the source ${reference.length}`,
				{ field: "recipe" },
			);
		const classes = dataset.rows > 0 ? reference.length / dataset.rows : 0;
		const agreement = compareOutputs(reference, candidate, classes);
		const accuracy =
			dataset.labels !== null && classes > 1
				? accuracyDelta(reference, candidate, classes, dataset.labels)
				: null;
		const latencyOf = async (side: Side) =>
			side.session === null || options.skipLatency
				? []
				: sweep(side.session, dataset, side === sides[0] ? source : optimized, options);
		return {
			rows: dataset.rows,
			output,
			accuracy,
			agreement,
			size: {
				source: source.byteLength,
				optimized: optimized.byteLength,
				ratio: source.byteLength / optimized.byteLength,
			},
			latency: { source: await latencyOf(sides[0]), optimized: await latencyOf(sides[1]) },
		};
	} finally {
		await Promise.all(sides.map(s => s.session?.release()));
	}
}

/** Max absolute and relative difference, and argmax agreement when rows hold several classes. */
export function compareOutputs(
	reference: Float32Array,
	candidate: Float32Array,
	classes: number,
): OptimizationEvaluation["agreement"] {
	let maxAbsDiff = 0;
	let maxRelDiff = 0;
	for (let i = 0; i < reference.length; i++) {
		const diff = Math.abs(reference[i] - candidate[i]);
		const rel = diff / Math.max(Math.abs(reference[i]), RELATIVE_FLOOR);
		if (!(diff <= maxAbsDiff)) maxAbsDiff = diff; // NaN sticks: a NaN output is a disagreement
		if (!(rel <= maxRelDiff)) maxRelDiff = rel;
	}
	if (classes <= 1) return { maxAbsDiff, maxRelDiff, argmax: null };
	const rows = reference.length / classes;
	let same = 0;
	for (let r = 0; r < rows; r++)
		if (argmax(reference, r, classes) === argmax(candidate, r, classes)) same++;
	return { maxAbsDiff, maxRelDiff, argmax: rows > 0 ? same / rows : 1 };
}

function accuracyDelta(
	reference: Float32Array,
	candidate: Float32Array,
	classes: number,
	labels: Int32Array,
): NonNullable<OptimizationEvaluation["accuracy"]> {
	const score = (values: Float32Array) => {
		let right = 0;
		let counted = 0;
		for (let r = 0; r < labels.length; r++) {
			if (labels[r] < 0) continue;
			counted++;
			if (argmax(values, r, classes) === labels[r]) right++;
		}
		return counted > 0 ? right / counted : 0;
	};
	const source = score(reference);
	const optimized = score(candidate);
	return { source, optimized, delta: optimized - source };
}

function argmax(values: Float32Array, row: number, width: number): number {
	let best = 0;
	for (let c = 1; c < width; c++)
		if (values[row * width + c] > values[row * width + best]) best = c;
	return best;
}

async function sweep(
	session: ort.InferenceSession,
	dataset: RecipeDataset,
	file: Uint8Array,
	options: EvaluationOptions,
): Promise<LatencyPoint[]> {
	const input = readOnnxModel(file).graph.inputs[0];
	const points: LatencyPoint[] = [];
	for (const batch of options.batches ?? [1, 64]) {
		// The first `batch` rows, repeated when the dataset has fewer.
		const features = new Float32Array(batch * dataset.width);
		for (let r = 0; r < batch; r++)
			features.set(
				dataset.features.subarray(
					(r % dataset.rows) * dataset.width,
					((r % dataset.rows) + 1) * dataset.width,
				),
				r * dataset.width,
			);
		const run = () =>
			runRows(session, features, batch, dataset.width, {
				inputShape: input?.shape ?? null,
				inputDatatype: input?.datatype,
				outputNames: [session.outputNames[0]],
				batch,
			});
		for (let i = 0; i < 3; i++) await run();
		const times: number[] = [];
		const budget = options.sweepMs ?? 300;
		const started = performance.now();
		while (times.length < 5 || performance.now() - started < budget) {
			const t0 = performance.now();
			await run();
			times.push(performance.now() - t0);
			if (times.length >= 10_000) break;
		}
		times.sort((x, y) => x - y);
		const p50Ms = times[Math.floor(times.length / 2)];
		points.push({ batch, p50Ms, rowsPerSecond: (batch * 1000) / p50Ms, runs: times.length });
	}
	return points;
}
