/**
 * Dynamic batching on and off under 64 concurrent single-row callers (closed loop: each awaits
 * its result, then sends the next) on the digits MLP and on a CIFAR-style CNN of MobileNet's
 * size with a large dense head (models/cnn-model.ts), served in-process through ServedModel (and, for the CNN, also with large
 * batches split across a pool).
 *
 * The modes of one model are measured in alternation (off, on, off, on, …), and each run's
 * ratio is taken against the `off` run just before it: on a shared machine that compares
 * runs made under the same conditions.
 */
import type { BatchingOptions } from "../lib/batching/batching-options";
import type { ServedModel } from "../lib/predictor/served-model";
import { RuntimePool } from "../lib/runtimes/pool/runtime-pool";
import { BENCH_CNN, cnnSchema, writeBenchCnn } from "./models/cnn-model";
import { MLP_FEATURES, MLP_SCHEMA, writeBenchMlp } from "./models/mlp-model";
import { loadServedOnnx, writeTempModel } from "./support/bench-model";
import { seededRandom, uniformFloats } from "./support/prng";
import { fixed, median, percentile, tick } from "./support/stats";

const CALLERS = 64;
/** The CNN's extra mode: batches of at least this many rows go to a 2-thread pool, split in chunks. */
const CNN_POOL = { threads: 2, minRowsPerChunk: 8, poolMinRows: 16 };

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

interface ModeFigures {
	mode: Mode;
	runs: RunResult[];
	/** Per run: its throughput over the `off` run just before it. */
	ratios: number[];
}

async function load(work: Workload, mode: Mode, pool: RuntimePool | null): Promise<ServedModel> {
	const options: Partial<BatchingOptions> =
		mode === "off" ? { enabled: false } : { enabled: true, ...work.batching };
	return loadServedOnnx(
		`${work.name}-${mode}`,
		work.file,
		work.schema,
		options,
		mode === "on + pool" && pool ? { pool, poolMinRows: CNN_POOL.poolMinRows } : null,
	);
}

/** All modes of one workload, run in alternation after a warm-up of each. */
async function measure(work: Workload): Promise<ModeFigures[]> {
	const modes: Mode[] = work.withPool ? ["off", "on", "on + pool"] : ["off", "on"];
	const pool = work.withPool
		? new RuntimePool({
				threads: CNN_POOL.threads,
				minRowsPerChunk: CNN_POOL.minRowsPerChunk,
			})
		: null;
	const models = await Promise.all(modes.map(mode => load(work, mode, pool)));
	for (const model of models) await closedLoop(model, work, work.warmupMs);
	const figures: ModeFigures[] = modes.map(mode => ({ mode, runs: [], ratios: [] }));
	for (let r = 0; r < work.runs; r++) {
		for (let m = 0; m < modes.length; m++) {
			await tick();
			const result = await closedLoop(models[m], work, work.measureMs);
			figures[m].runs.push(result);
			figures[m].ratios.push(result.throughput / figures[0].runs[r].throughput);
		}
	}
	await Promise.all(models.map(model => model.dispose()));
	await pool?.close();
	return figures;
}

/** The median of the runs' figures. */
function summary(runs: readonly RunResult[]): RunResult {
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
	const cnn = writeBenchCnn(BENCH_CNN);
	const cnnRow = 3 * BENCH_CNN.size * BENCH_CNN.size;
	const workloads: Workload[] = [
		{
			name: "mlp",
			file: writeTempModel("mlp.onnx", writeBenchMlp()),
			schema: MLP_SCHEMA,
			inputName: "x",
			rowShape: [MLP_FEATURES],
			rows: Array.from({ length: 256 }, () => uniformFloats(random, MLP_FEATURES, 0, 16)),
			warmupMs: 500,
			measureMs: 1000,
			runs: 5,
			batching: { maxBatchSize: 64, maxQueueDelayMicros: 500 },
			withPool: false,
		},
		{
			name: "cnn",
			file: writeTempModel("cnn.onnx", cnn.bytes),
			schema: cnnSchema(BENCH_CNN),
			inputName: "image",
			rowShape: [3, BENCH_CNN.size, BENCH_CNN.size],
			rows: Array.from({ length: 16 }, () => uniformFloats(random, cnnRow, 0, 1)),
			warmupMs: 1000,
			measureMs: 2000,
			runs: 5,
			batching: { maxBatchSize: 64, maxQueueDelayMicros: 2000 },
			withPool: true,
		},
	];
	const lines = [
		`## Dynamic batching, ${CALLERS} concurrent single-row callers (closed loop), in-process`,
		"",
		`CNN: CIFAR-style with a large dense head, input [N,3,${BENCH_CNN.size},${BENCH_CNN.size}], conv stages ` +
			`${BENCH_CNN.stages.join("/")} (3×3 Conv, Relu, 2×2 MaxPool), dense ` +
			`${[...BENCH_CNN.dense, BENCH_CNN.classes].join("→")} with Relu, Softmax; ` +
			`${(cnn.parameters / 1e6).toFixed(2)} M parameters, ${(cnn.convMacs / 1e6).toFixed(1)} M conv and ` +
			`${(cnn.denseMacs / 1e6).toFixed(1)} M dense multiply-adds per image.`,
		"Batching off: `enabled: false` (one request per run, maxConcurrentBatches 1). Typed-array request data. " +
			"Off and on run in-process (no pool), onnxruntime with 1 intra-op thread, the same session options. " +
			`\`on + pool\` (CNN only): the same batching with a RuntimePool({ threads: ${CNN_POOL.threads}, ` +
			`minRowsPerChunk: ${CNN_POOL.minRowsPerChunk} }) and poolMinRows ${CNN_POOL.poolMinRows}, ` +
			"so a batch of 16+ rows is split across the pool's threads.",
		"Modes run in alternation after a warm-up of each; figures: medians over the runs; on/off: " +
			"median (and range) of each run's throughput over the `off` run just before it.",
		"",
		"| model | batching | settings | runs × s | requests/run | requests/s | p50 ms | p99 ms | on/off: median (range) |",
		"| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
	];
	for (const work of workloads) {
		const figures = await measure(work);
		const runs = `${work.runs} × ${work.measureMs / 1000}`;
		for (const { mode, runs: results, ratios } of figures) {
			const r = summary(results);
			const settings = mode === "off" ? "enabled false" : describeBatching(work.batching);
			const ratio =
				mode === "off"
					? ""
					: `${fixed(median(ratios), 2)}× (${fixed(percentile(ratios, 0), 2)} – ${fixed(percentile(ratios, 100), 2)})`;
			lines.push(
				`| ${work.name} | ${mode} | ${settings} | ${runs} | ${r.requests} | ${fixed(r.throughput, 0)} | ` +
					`${fixed(r.p50, 2)} | ${fixed(r.p99, 2)} | ${ratio} |`,
			);
		}
	}
	return lines.join("\n");
}
