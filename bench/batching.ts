/**
 * Dynamic batching on and off under 64 concurrent single-row callers (closed loop: each awaits
 * its result, then sends the next) on the digits MLP and on a MobileNet-v1-like CNN, both
 * served in-process through ServedModel (no pool).
 */
import type { BatchingOptions } from "../lib/batching/batching-options";
import type { ServedModel } from "../lib/predictor/served-model";
import { RuntimePool } from "../lib/runtimes/pool/runtime-pool";
import { MLP_FEATURES, MLP_SCHEMA, writeBenchMlp } from "./models/mlp-model";
import {
	mobilenetSchema,
	writeBenchMobilenet,
	type MobilenetShape,
} from "./models/mobilenet-model";
import { loadServedOnnx, writeTempModel } from "./support/bench-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { fixed, median, percentile, tick } from "./support/stats";

const CALLERS = 64;
/** The CNN's extra mode: batches of at least this many rows go to a 2-thread pool, split in chunks. */
const CNN_POOL = { threads: 2, minRowsPerChunk: 8, poolMinRows: 16 };
export const CNN_SHAPE: MobilenetShape = { size: 128, width: 0.75, classes: 1000 };

interface Workload {
	name: string;
	file: string;
	schema: typeof MLP_SCHEMA;
	inputName: string;
	rowShape: number[];
	/** A few distinct rows, cycled through by the callers. */
	rows: Float32Array[];
	warmupMs: number;
	measureMs: number;
	runs: number;
	batching: Partial<BatchingOptions>;
	/** Also measure batching on with large batches split across a RuntimePool. */
	withPool: boolean;
}

type Mode = "off" | "on" | "on + pool";

interface RunResult {
	throughput: number;
	p50: number;
	p99: number;
	requests: number;
}

/** 64 callers for `durationMs`; latencies of requests that finished inside the window. */
async function closedLoop(
	model: ServedModel,
	work: Workload,
	durationMs: number,
): Promise<RunResult> {
	const latencies: number[] = [];
	const started = performance.now();
	const end = started + durationMs;
	let lastDone = started;
	const caller = async (index: number): Promise<void> => {
		let i = index;
		while (performance.now() < end) {
			const data = work.rows[i++ % work.rows.length];
			const t0 = performance.now();
			await model.infer({
				inputs: [
					{ name: work.inputName, datatype: "FP32", shape: [1, ...work.rowShape], data },
				],
			});
			const t1 = performance.now();
			latencies.push(t1 - t0);
			lastDone = t1;
		}
	};
	await Promise.all(Array.from({ length: CALLERS }, (_, i) => caller(i)));
	return {
		throughput: (latencies.length / (lastDone - started)) * 1000,
		p50: percentile(latencies, 50),
		p99: percentile(latencies, 99),
		requests: latencies.length,
	};
}

async function measure(work: Workload, mode: Mode): Promise<RunResult> {
	const options: Partial<BatchingOptions> =
		mode === "off" ? { enabled: false } : { enabled: true, ...work.batching };
	const pool =
		mode === "on + pool"
			? new RuntimePool({
					threads: CNN_POOL.threads,
					minRowsPerChunk: CNN_POOL.minRowsPerChunk,
				})
			: null;
	const model = await loadServedOnnx(
		`${work.name}-${mode}`,
		work.file,
		work.schema,
		options,
		pool ? { pool, poolMinRows: CNN_POOL.poolMinRows } : null,
	);
	await closedLoop(model, work, work.warmupMs);
	const runs: RunResult[] = [];
	for (let r = 0; r < work.runs; r++) {
		await tick();
		runs.push(await closedLoop(model, work, work.measureMs));
	}
	await model.dispose();
	await pool?.close();
	return {
		throughput: median(runs.map(r => r.throughput)),
		p50: median(runs.map(r => r.p50)),
		p99: median(runs.map(r => r.p99)),
		requests: median(runs.map(r => r.requests)),
	};
}

function describeBatching(options: Partial<BatchingOptions>): string {
	return `maxBatchSize ${options.maxBatchSize}, maxQueueDelayMicros ${options.maxQueueDelayMicros}`;
}

export async function runBatching(): Promise<string> {
	const random = seededRandom(3);
	const cnn = writeBenchMobilenet(CNN_SHAPE);
	const cnnRow = 3 * CNN_SHAPE.size * CNN_SHAPE.size;
	const workloads: Workload[] = [
		{
			name: "mlp",
			file: writeTempModel("mlp.onnx", writeBenchMlp()),
			schema: MLP_SCHEMA,
			inputName: "x",
			rowShape: [MLP_FEATURES],
			rows: Array.from({ length: 256 }, () => uniformFloats(random, MLP_FEATURES, 0, 16)),
			warmupMs: 500,
			measureMs: 2000,
			runs: 3,
			batching: { maxBatchSize: 64, maxQueueDelayMicros: 500 },
			withPool: false,
		},
		{
			name: "cnn",
			file: writeTempModel("mobilenet.onnx", cnn.bytes),
			schema: mobilenetSchema(CNN_SHAPE),
			inputName: "image",
			rowShape: [3, CNN_SHAPE.size, CNN_SHAPE.size],
			rows: Array.from({ length: 8 }, () => uniformFloats(random, cnnRow, 0, 1)),
			warmupMs: 1500,
			measureMs: 3000,
			runs: 3,
			batching: { maxBatchSize: 64, maxQueueDelayMicros: 2000 },
			withPool: true,
		},
	];
	const lines = [
		`## Dynamic batching, ${CALLERS} concurrent single-row callers (closed loop), in-process, no pool`,
		"",
		`CNN: MobileNet-v1-like (13 depthwise-separable blocks, Relu, no BatchNorm, width ${CNN_SHAPE.width}), ` +
			`input [N,3,${CNN_SHAPE.size},${CNN_SHAPE.size}], ${CNN_SHAPE.classes} classes, ${(cnn.parameters / 1e6).toFixed(2)} M parameters.`,
		"Batching off: `enabled: false` (one request per run, maxConcurrentBatches 1). Typed-array request data.",
		"Off and on run in-process (no pool). `on + pool` (CNN only): the same batching with a " +
			`RuntimePool({ threads: ${CNN_POOL.threads}, minRowsPerChunk: ${CNN_POOL.minRowsPerChunk} }) and poolMinRows ${CNN_POOL.poolMinRows}, ` +
			"so a batch of 16+ rows is split across the pool's threads.",
		"Each row: median of the runs' figures (throughput, p50, p99) after a warm-up.",
		"",
		"| model | batching | settings | runs × s | requests/run | requests/s | p50 ms | p99 ms | on/off |",
		"| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
	];
	for (const work of workloads) {
		const off = await measure(work, "off");
		const on = await measure(work, "on");
		const runs = `${work.runs} × ${work.measureMs / 1000}`;
		const row = (mode: Mode, settings: string, r: RunResult): string =>
			`| ${work.name} | ${mode} | ${settings} | ${runs} | ${r.requests} | ${fixed(r.throughput, 0)} | ` +
			`${fixed(r.p50, 2)} | ${fixed(r.p99, 2)} | ${mode === "off" ? "" : `${fixed(r.throughput / off.throughput, 2)}×`} |`;
		lines.push(
			row("off", "enabled false", off),
			row("on", describeBatching(work.batching), on),
		);
		if (work.withPool)
			lines.push(
				row("on + pool", describeBatching(work.batching), await measure(work, "on + pool")),
			);
	}
	return lines.join("\n");
}
