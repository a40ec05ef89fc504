/**
 * A 100,000-row XGBoost batch (the iris multi:softprob fixture): the tree walker in the main
 * thread against RuntimePool({ threads: 2 }).runChunked, with the event loop's delay watched
 * while the pool works.
 */
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Tensor } from "../lib/inference/tensor";
import { resolveRuntime } from "../lib/runtimes";
import { RuntimePool } from "../lib/runtimes/pool/runtime-pool";
import { seededRandom } from "./support/prng";
import { fixed, median, tick } from "./support/stats";

const ROWS = 100_000;
const RUNS = 7;
const THREADS = 2;
const FIXTURE = path.join(
	__dirname,
	"..",
	"test",
	"fixtures",
	"xgboost",
	"iris-multi-softprob.json",
);
/** Feature ranges of the iris data: sepal length, sepal width, petal length, petal width. */
const RANGES: readonly (readonly [number, number])[] = [
	[4.3, 7.9],
	[2.0, 4.4],
	[1.0, 6.9],
	[0.1, 2.5],
];

function irisRows(rows: number, seed: number): Float32Array {
	const random = seededRandom(seed);
	const data = new Float32Array(rows * RANGES.length);
	for (let r = 0; r < rows; r++)
		for (let f = 0; f < RANGES.length; f++) {
			const [low, high] = RANGES[f];
			data[r * RANGES.length + f] = low + (high - low) * random();
		}
	return data;
}

export async function runPool(): Promise<string> {
	const single = await resolveRuntime("xgboost-json").load(FIXTURE);
	const inputName = single.schema.inputs[0].name;
	const input: Tensor = {
		name: inputName,
		datatype: "FP32",
		shape: [ROWS, 4],
		data: irisRows(ROWS, 11),
	};

	for (let i = 0; i < 3; i++) await single.run([input]);
	const singleTimes: number[] = [];
	for (let r = 0; r < RUNS; r++) {
		const started = performance.now();
		await single.run([input]);
		singleTimes.push(performance.now() - started);
		await tick();
	}

	const pool = new RuntimePool({ threads: THREADS });
	const task = () =>
		pool.runChunked({
			modelKey: "iris-multi-softprob",
			format: "xgboost-json",
			filePath: FIXTURE,
			inputs: [input],
		});
	// Warm-up: both threads start, load the model once and compile their code paths.
	for (let i = 0; i < 3; i++) await task();

	const histogram = monitorEventLoopDelay({ resolution: 1 });
	let timerMaxGap = 0;
	let lastTick = performance.now();
	const timer = setInterval(() => {
		const now = performance.now();
		timerMaxGap = Math.max(timerMaxGap, now - lastTick);
		lastTick = now;
	}, 1);
	histogram.enable();
	const pooledTimes: number[] = [];
	const threadComputeMs: number[] = [];
	for (let r = 0; r < RUNS; r++) {
		const started = performance.now();
		const result = await task();
		pooledTimes.push(performance.now() - started);
		threadComputeMs.push(result.computeMs);
		await tick();
	}
	histogram.disable();
	clearInterval(timer);
	await pool.close();
	await single.dispose();

	const singleMs = median(singleTimes);
	const pooledMs = median(pooledTimes);
	const singleRate = (ROWS / singleMs) * 1000;
	const pooledRate = (ROWS / pooledMs) * 1000;
	const loopMaxMs = histogram.max / 1e6;
	return [
		`## XGBoost ${ROWS.toLocaleString("en")}-row batch (iris multi:softprob, 30 trees), one thread vs RuntimePool`,
		"",
		`Median of ${RUNS} runs after 3 warm-up runs each; pool: threads ${THREADS}, default minRowsPerChunk 1024 (so ${THREADS} chunks).`,
		"",
		"| path | ms per batch | rows/s |",
		"| --- | ---: | ---: |",
		`| main thread (resolveRuntime("xgboost-json")) | ${fixed(singleMs)} | ${fixed(singleRate, 0)} |`,
		`| RuntimePool({ threads: ${THREADS} }).runChunked | ${fixed(pooledMs)} | ${fixed(pooledRate, 0)} |`,
		"",
		`Pool / single throughput: ${fixed(pooledRate / singleRate, 2)}×.`,
		`Inside the pool, the slower thread's own run time (RuntimeTaskResult.computeMs) was ${fixed(median(threadComputeMs))} ms ` +
			`for its ${(ROWS / THREADS).toLocaleString("en")} rows (the main thread walks that many in ~${fixed(singleMs / THREADS)} ms).`,
		`Event loop during the pooled runs: monitorEventLoopDelay (1 ms resolution) max ${fixed(loopMaxMs, 1)} ms, ` +
			`p99 ${fixed(histogram.percentile(99) / 1e6, 1)} ms; largest gap between 1 ms interval ticks ${fixed(timerMaxGap, 1)} ms. ` +
			`(In the main-thread runs the loop is blocked for the whole batch, ~${fixed(singleMs, 0)} ms.)`,
	].join("\n");
}
