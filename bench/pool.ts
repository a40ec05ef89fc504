/**
 * A 100,000-row XGBoost batch (the iris multi:softprob fixture): the tree walker on one thread
 * (the main thread, as `resolveRuntime("xgboost-json")` runs it) against
 * RuntimePool({ threads: 2 }).runChunked, with the event loop's delay watched while the pool
 * works. A one-thread pool is timed too, to show what the hand-off to a worker costs.
 *
 * The three are timed in alternation, run after run, on the same input, after the same
 * warm-up; the pool's speed-up is the median of each round's ratio, so both sides of a ratio
 * ran under the same conditions on a shared machine. The event loop is watched in further
 * pooled runs of its own (see below), so that watching it does not slow the timed ones.
 */
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Tensor } from "../lib/inference/tensor";
import { resolveRuntime } from "../lib/runtimes";
import { RuntimePool } from "../lib/runtimes/pool/runtime-pool";
import type { RuntimeTask } from "../lib/runtimes/pool/runtime-task";
import { seededRandom } from "./support/prng";
import { fixed, median, percentile, tick } from "./support/stats";

const ROWS = 100_000;
const RUNS = 15;
const WARMUP_RUNS = 5;
const WATCHED_RUNS = 7;
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

async function timed(run: () => Promise<unknown>): Promise<number> {
	const started = performance.now();
	await run();
	return performance.now() - started;
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
	const task: RuntimeTask = {
		modelKey: "iris-multi-softprob",
		format: "xgboost-json",
		filePath: FIXTURE,
		inputs: [input],
	};
	const pool = new RuntimePool({ threads: THREADS });
	const onePool = new RuntimePool({ threads: 1 });
	const main = () => single.run([input]);
	const pooled = () => pool.runChunked(task);
	const oneThread = () => onePool.runChunked(task);
	// Warm-up: the threads start, load the model once and compile their code paths.
	for (let i = 0; i < WARMUP_RUNS; i++) {
		await main();
		await pooled();
		await oneThread();
	}

	// Timing rounds, with nothing else running in the process.
	const mainTimes: number[] = [];
	const pooledTimes: number[] = [];
	const oneThreadTimes: number[] = [];
	const ratios: number[] = [];
	const threadComputeMs: number[] = [];
	for (let r = 0; r < RUNS; r++) {
		await tick();
		mainTimes.push(await timed(main));
		await tick();
		const started = performance.now();
		const result = await pooled();
		pooledTimes.push(performance.now() - started);
		threadComputeMs.push(result.computeMs);
		ratios.push(mainTimes[r] / pooledTimes[r]);
		await tick();
		oneThreadTimes.push(await timed(oneThread));
	}

	// Watched runs: the event loop's delay while the pool works. A 1 ms timer and a 1 ms
	// histogram wake the main thread a thousand times a second, which takes a core from the
	// pool's threads for a moment each time, so these runs are kept apart from the timing rounds.
	// A histogram per run: one enabled again after a pause would count the pause as a delay.
	const loopMaxMs: number[] = [];
	const loopP99Ms: number[] = [];
	const watchedTimes: number[] = [];
	let timerMaxGap = 0;
	let lastTick = performance.now();
	const timer = setInterval(() => {
		const now = performance.now();
		timerMaxGap = Math.max(timerMaxGap, now - lastTick);
		lastTick = now;
	}, 1);
	for (let r = 0; r < WATCHED_RUNS; r++) {
		await tick();
		const histogram = monitorEventLoopDelay({ resolution: 1 });
		lastTick = performance.now();
		histogram.enable();
		watchedTimes.push(await timed(pooled));
		histogram.disable();
		loopMaxMs.push(histogram.max / 1e6);
		loopP99Ms.push(histogram.percentile(99) / 1e6);
	}
	clearInterval(timer);
	await pool.close();
	await onePool.close();
	await single.dispose();

	const rate = (ms: number): string => fixed((ROWS / ms) * 1000, 0);
	const row = (label: string, times: readonly number[]): string => {
		const ms = median(times);
		return `| ${label} | ${fixed(ms)} | ${rate(ms)} |`;
	};
	return [
		`## XGBoost ${ROWS.toLocaleString("en")}-row batch (iris multi:softprob, 30 trees), one thread vs RuntimePool`,
		"",
		`${RUNS} rounds after ${WARMUP_RUNS} warm-up rounds; each round times the main thread, the ${THREADS}-thread pool ` +
			`(default minRowsPerChunk 1024, so ${THREADS} chunks, moved to the threads without a copy) and a 1-thread pool, one after the other. ` +
			"ms per batch: median over the rounds (no timers running in them; the event loop is watched in separate pooled runs, below).",
		"",
		"| path | ms per batch | rows/s |",
		"| --- | ---: | ---: |",
		row('main thread (resolveRuntime("xgboost-json").run)', mainTimes),
		row(`RuntimePool({ threads: ${THREADS} }).runChunked`, pooledTimes),
		row("RuntimePool({ threads: 1 }).runChunked (the hand-off alone)", oneThreadTimes),
		"",
		`Pool / main thread: ${fixed(median(ratios), 2)}× (median of the rounds' ratios; quartiles ` +
			`${fixed(percentile(ratios, 25), 2)} – ${fixed(percentile(ratios, 75), 2)}, ` +
			`ratio of the medians ${fixed(median(mainTimes) / median(pooledTimes), 2)}×).`,
		`Inside the pool, the slower thread's own run time (RuntimeTaskResult.computeMs) was ${fixed(median(threadComputeMs))} ms ` +
			`for its ${(ROWS / THREADS).toLocaleString("en")} rows (the main thread walks that many in ~${fixed(median(mainTimes) / THREADS)} ms).`,
		`Event loop during ${WATCHED_RUNS} more pooled runs (${fixed(median(watchedTimes))} ms each, median), watched by ` +
			`monitorEventLoopDelay (1 ms resolution, one per run): max ${fixed(Math.max(...loopMaxMs), 1)} ms ` +
			`(median of the runs' maxima ${fixed(median(loopMaxMs), 1)} ms, largest p99 ${fixed(Math.max(...loopP99Ms), 1)} ms); ` +
			`largest gap between the ticks of a 1 ms interval timer ${fixed(timerMaxGap, 1)} ms. ` +
			`(In the main-thread runs the loop is blocked for the whole batch, ~${fixed(median(mainTimes), 0)} ms.)`,
	].join("\n");
}
