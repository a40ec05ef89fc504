/**
 * Predictor overhead: ServedModel.infer (validator, pipelines, batching queue, runtime) against
 * a bare onnxruntime-node InferenceSession.run on the same MLP file with the same session
 * options, at batch 1 and batch 64, one caller at a time.
 */
import * as ort from "onnxruntime-node";
import type { BatchingOptions } from "../lib/batching/batching-options";
import type { ServedModel } from "../lib/predictor/served-model";
import { resolveRuntime } from "../lib/runtimes";
import { MLP_FEATURES, MLP_SCHEMA, writeBenchMlp } from "./models/mlp-model";
import { loadServedOnnx, writeTempModel } from "./support/bench-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { fixed, median, tick } from "./support/stats";

const BATCHES = [1, 64];
const RUNS = 9;
const CALLS_PER_RUN: Record<number, number> = { 1: 3000, 64: 2000 };
const WARMUP_CALLS = 1000;

interface BatchingMode {
	label: string;
	options: Partial<BatchingOptions>;
}

const MODES: readonly BatchingMode[] = [
	{ label: "batching disabled", options: { enabled: false } },
	{
		label: "batching on, maxQueueDelayMicros 0",
		options: { enabled: true, maxQueueDelayMicros: 0 },
	},
];

type Call = () => Promise<unknown>;

async function timePerCall(call: Call, calls: number): Promise<number> {
	const started = process.hrtime.bigint();
	for (let i = 0; i < calls; i++) await call();
	return Number(process.hrtime.bigint() - started) / 1000 / calls;
}

/** Does the request validator take a Float32Array as `data`? If not, requests use JSON arrays. */
async function typedArraysAccepted(model: ServedModel, x: Float32Array): Promise<boolean> {
	try {
		await model.infer({
			inputs: [{ name: "x", datatype: "FP32", shape: [1, MLP_FEATURES], data: x }],
		});
		return true;
	} catch (error) {
		console.warn(`typed-array data refused (${(error as Error).message}); using JSON arrays`);
		return false;
	}
}

export async function runOverhead(): Promise<string> {
	const file = writeTempModel("mlp.onnx", writeBenchMlp());
	const session = await ort.InferenceSession.create(file, {
		executionProviders: ["cpu"],
		graphOptimizationLevel: "all",
		intraOpNumThreads: 1,
		interOpNumThreads: 1,
		executionMode: "sequential",
		logSeverityLevel: 3,
	});
	const served = await Promise.all(
		MODES.map(mode => loadServedOnnx(`mlp-${mode.label}`, file, MLP_SCHEMA, mode.options)),
	);
	// The runtime wrapper alone (tensor conversion, input matching), without validator or queue.
	const runtime = await resolveRuntime("onnx").load(file, {
		executionProviders: ["cpu"],
		intraOpThreads: 1,
		interOpThreads: 1,
	});
	const random = seededRandom(1);
	const inputs = new Map(BATCHES.map(b => [b, uniformFloats(random, b * MLP_FEATURES, 0, 16)]));
	const typed = await typedArraysAccepted(served[0], inputs.get(1) as Float32Array);

	const lines = [
		"## Predictor overhead (MLP 64→128→10, one caller, in-process onnxruntime, 1 intra-op thread)",
		"",
		`Request data: ${typed ? "Float32Array (typed-array fast path)" : "JSON number arrays (typed arrays refused)"}. ` +
			`Median of ${RUNS} runs; each run times raw and served calls back to back, ${WARMUP_CALLS} warm-up calls first.`,
		"",
		"| batch | path | µs/call | overhead vs raw |",
		"| ---: | --- | ---: | ---: |",
	];
	for (const batch of BATCHES) {
		const x = inputs.get(batch) as Float32Array;
		const shape = [batch, MLP_FEATURES];
		// Read the output's data as the served path does, so both hand back the same thing.
		const raw: Call = async () =>
			(await session.run({ x: new ort.Tensor("float32", x, shape) })).probabilities.data;
		const data = typed ? x : Array.from(x);
		const servedCalls: Call[] = served.map(
			model => () => model.infer({ inputs: [{ name: "x", datatype: "FP32", shape, data }] }),
		);
		const wrapper: Call = () => runtime.run([{ name: "x", datatype: "FP32", shape, data: x }]);
		for (const call of [raw, wrapper, ...servedCalls]) await timePerCall(call, WARMUP_CALLS);
		const rawTimes: number[] = [];
		const wrapperTimes: number[] = [];
		const servedTimes: number[][] = MODES.map(() => []);
		const calls = CALLS_PER_RUN[batch];
		for (let run = 0; run < RUNS; run++) {
			rawTimes.push(await timePerCall(raw, calls));
			await tick();
			wrapperTimes.push(await timePerCall(wrapper, calls));
			await tick();
			for (let m = 0; m < MODES.length; m++) {
				servedTimes[m].push(await timePerCall(servedCalls[m], calls));
				await tick();
			}
		}
		const rawMedian = median(rawTimes);
		const wrapperMedian = median(wrapperTimes);
		lines.push(
			`| ${batch} | raw InferenceSession.run | ${fixed(rawMedian)} | |`,
			`| ${batch} | LoadedModel.run (onnx runtime wrapper only) | ${fixed(wrapperMedian)} | ${fixed((wrapperMedian / rawMedian - 1) * 100)}% |`,
		);
		for (let m = 0; m < MODES.length; m++) {
			const servedMedian = median(servedTimes[m]);
			const overhead = (servedMedian / rawMedian - 1) * 100;
			lines.push(
				`| ${batch} | ServedModel.infer, ${MODES[m].label} | ${fixed(servedMedian)} | ${fixed(overhead)}% |`,
			);
		}
	}
	await Promise.all(served.map(model => model.dispose()));
	await runtime.dispose();
	await session.release();
	return lines.join("\n");
}
