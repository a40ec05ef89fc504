/**
 * Predictor overhead: ServedModel.infer (validator, pipelines, batching queue, runtime) against
 * a bare onnxruntime-node InferenceSession.run on the same MLP file with the same session
 * options, at batch 1 and batch 64, one caller at a time.
 *
 * Measured in paired rounds: each round times a short block of raw calls, then a block of each
 * served path, then raw again, and compares each path with the mean of the two raw blocks
 * around it. Other processes on a shared machine slow whole stretches of seconds; a pair of
 * blocks 20–60 ms apart sees the same conditions, so the median of the rounds' ratios is a
 * far steadier figure than the ratio of two medians taken seconds apart. Each block is timed
 * by the wall clock and by the process's CPU time (process.cpuUsage), which a shared machine
 * disturbs less: time spent waiting for a core does not count.
 */
import * as ort from "onnxruntime-node";
import type { BatchingOptions } from "../lib/batching/batching-options";
import type { ServedModel } from "../lib/predictor/served-model";
import { resolveRuntime } from "../lib/runtimes";
import { MLP_FEATURES, MLP_SCHEMA, writeBenchMlp } from "./models/mlp-model";
import { loadServedOnnx, writeTempModel } from "./support/bench-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { fixed, median, percentile, tick } from "./support/stats";

const BATCHES = [1, 64];
const ROUNDS = 31;
const CALLS_PER_BLOCK: Record<number, number> = { 1: 2000, 64: 1000 };
const WARMUP_CALLS = 2000;

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

interface BlockTime {
	/** Wall-clock µs per call. */
	wall: number;
	/** CPU µs per call (user + system, all threads of the process). */
	cpu: number;
}

async function timePerCall(call: Call, calls: number): Promise<BlockTime> {
	const cpuStart = process.cpuUsage();
	const started = process.hrtime.bigint();
	for (let i = 0; i < calls; i++) await call();
	const wall = Number(process.hrtime.bigint() - started) / 1000 / calls;
	const cpu = process.cpuUsage(cpuStart);
	return { wall, cpu: (cpu.user + cpu.system) / calls };
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

interface PathFigures {
	/** Median wall-clock and CPU µs per call over the rounds. */
	wall: number;
	cpu: number;
	/** Per round: this path's time over the raw blocks' mean around it, by each clock. */
	wallRatios: number[];
	cpuRatios: number[];
}

/** Times `paths` (raw first) in paired rounds; see the file comment. */
async function pairedRounds(paths: readonly Call[], calls: number): Promise<PathFigures[]> {
	const figures: PathFigures[] = paths.map(() => ({
		wall: 0,
		cpu: 0,
		wallRatios: [],
		cpuRatios: [],
	}));
	const walls = paths.map(() => [] as number[]);
	const cpus = paths.map(() => [] as number[]);
	for (let round = 0; round < ROUNDS; round++) {
		const before = await timePerCall(paths[0], calls);
		const blocks: BlockTime[] = [];
		for (let p = 1; p < paths.length; p++) {
			await tick();
			blocks.push(await timePerCall(paths[p], calls));
		}
		await tick();
		const after = await timePerCall(paths[0], calls);
		const raw = { wall: (before.wall + after.wall) / 2, cpu: (before.cpu + after.cpu) / 2 };
		[raw, ...blocks].forEach((time, p) => {
			walls[p].push(time.wall);
			cpus[p].push(time.cpu);
			figures[p].wallRatios.push(time.wall / raw.wall);
			figures[p].cpuRatios.push(time.cpu / raw.cpu);
		});
		await tick();
	}
	figures.forEach((f, p) => {
		f.wall = median(walls[p]);
		f.cpu = median(cpus[p]);
	});
	return figures;
}

/** `+12.3% (9.8 – 14.1)`: the median overhead and the quartiles of the rounds. */
function overhead(ratios: readonly number[]): string {
	const pct = (q: number): string => fixed((percentile(ratios, q) - 1) * 100);
	return `${pct(50)}% (${pct(25)} – ${pct(75)})`;
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
			`${WARMUP_CALLS} warm-up calls per path, then ${ROUNDS} paired rounds: raw, each other path, raw again, ` +
			"in blocks of " +
			BATCHES.map(b => `${CALLS_PER_BLOCK[b]} (batch ${b})`).join(" / ") +
			" calls. µs/call: median over the rounds, by the wall clock and by the process's CPU time. " +
			"Overhead: median (and quartiles) of the rounds' ratios to the mean of the two raw blocks around them.",
		"",
		"| batch | path | wall µs/call | overhead (wall): median (quartiles) | CPU µs/call | overhead (CPU): median (quartiles) |",
		"| ---: | --- | ---: | ---: | ---: | ---: |",
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
		const paths = [raw, wrapper, ...servedCalls];
		for (const call of paths) await timePerCall(call, WARMUP_CALLS);
		const [rawFigures, wrapperFigures, ...servedFigures] = await pairedRounds(
			paths,
			CALLS_PER_BLOCK[batch],
		);
		const row = (path: string, f: PathFigures, baseline = false): string =>
			`| ${batch} | ${path} | ${fixed(f.wall)} | ${baseline ? "" : overhead(f.wallRatios)} | ` +
			`${fixed(f.cpu)} | ${baseline ? "" : overhead(f.cpuRatios)} |`;
		lines.push(
			row("raw InferenceSession.run", rawFigures, true),
			row("LoadedModel.run (onnx runtime wrapper only)", wrapperFigures),
			...servedFigures.map((f, m) => row(`ServedModel.infer, ${MODES[m].label}`, f)),
		);
	}
	await Promise.all(served.map(model => model.dispose()));
	await runtime.dispose();
	await session.release();
	return lines.join("\n");
}
