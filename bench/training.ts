/**
 * Training speed on the 8×8 digits fixture (1,797 rows, 64 features, 10 classes): samples per
 * second of TF.js training in a worker thread (lib/training/train-in-worker.ts), the WebAssembly
 * backend against the pure-JS cpu backend, for the "small" preset (64 → 32 relu → 10) and a
 * wider network (64 → 128 → 64 → 10), at batch 32 and 128.
 *
 * Each configuration trains EPOCHS epochs on the train split (70 %, 1,259 rows) with a
 * validation pass per epoch; the first epoch is a warm-up and is left out. The figure is the
 * median of the other epochs' samples/s (train rows / epoch time, validation included). The
 * backends alternate round by round so both see the same machine conditions.
 *
 *     npm run bench -- training        (once bench/run.ts lists it)
 *     node --require ./scripts/ts-register.js bench/training.ts
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { splitDataset } from "../lib/datasets/dataset-split";
import { parseDataset } from "../lib/datasets/parse-dataset";
import type { DenseLayerSpec } from "../lib/training/job-spec";
import { fitPreprocessing } from "../lib/training/preprocessing";
import { datasetTargets, targetsOf } from "../lib/training/targets";
import { trainInWorker } from "../lib/training/train-in-worker";
import type { BackendPreference, TrainRequest } from "../lib/training/training-types";
import { fixed, median } from "./support/stats";

const EPOCHS = 6;
const ROUNDS = 2;
const BACKENDS: readonly BackendPreference[] = ["wasm", "cpu"];
const BATCH_SIZES = [32, 128];
const NETWORKS: Readonly<Record<string, DenseLayerSpec[]>> = {
	"small (32)": [{ units: 32, activation: "relu", dropout: 0 }],
	"wide (128, 64)": [
		{ units: 128, activation: "relu", dropout: 0 },
		{ units: 64, activation: "relu", dropout: 0 },
	],
};
const DIGITS = path.join(__dirname, "..", "test", "fixtures", "datasets", "digits.csv");

async function digitsData(): Promise<Pick<TrainRequest, "train" | "validation">> {
	const dataset = await parseDataset(fs.createReadStream(DIGITS), {
		format: "csv",
		labelColumn: "label",
	});
	const split = splitDataset(dataset, {
		fractions: { train: 0.7, validation: 0.15, test: 0.15 },
		seed: 1,
		stratifyBy: "label",
	});
	const pre = fitPreprocessing(dataset, { labelColumn: "label", trainRows: split.train });
	const targets = datasetTargets(dataset, "label", "classification");
	const data = (rows: Uint32Array) => ({
		x: pre.transformDataset(dataset, rows),
		rows: rows.length,
		width: pre.outputWidth,
		y: targetsOf(targets, rows),
	});
	return { train: data(split.train), validation: data(split.validation) };
}

interface Row {
	network: string;
	batchSize: number;
	backend: BackendPreference;
	detail: string;
	samplesPerSecond: number[];
}

/** Runs the benchmark and returns its Markdown table. */
export async function runTraining(): Promise<string> {
	const data = await digitsData();
	const rows = new Map<string, Row>();
	for (let round = 0; round < ROUNDS; round++) {
		for (const [network, layers] of Object.entries(NETWORKS)) {
			for (const batchSize of BATCH_SIZES) {
				// Alternate which backend goes first, so neither always runs on a warmer machine.
				const order = round % 2 === 0 ? BACKENDS : [...BACKENDS].reverse();
				for (const backend of order) {
					const result = await trainInWorker({
						...data,
						config: {
							task: "classification",
							outputs: 10,
							layers,
							optimizer: "adam",
							learningRate: 0.01,
							epochs: EPOCHS,
							batchSize,
							earlyStopping: null,
							checkpointEvery: 0,
							seed: 1,
						},
						predict: null,
						resumeFrom: null,
						backend,
						exportTfjs: false,
					});
					const key = `${network}/${batchSize}/${backend}`;
					const row = rows.get(key) ?? {
						network,
						batchSize,
						backend,
						detail: result.backend.detail,
						samplesPerSecond: [],
					};
					row.samplesPerSecond.push(
						...result.history.slice(1).map(h => h.samplesPerSecond),
					);
					rows.set(key, row);
				}
			}
		}
	}
	const lines = [
		`Training on digits (${data.train.rows} train rows, 64 features, 10 classes), Adam, ${EPOCHS} epochs × ${ROUNDS} rounds, first epoch of each run left out; median samples/s per epoch (validation pass included).`,
		"",
		"| network | batch | backend | samples/s | ms/epoch | × cpu |",
		"| --- | ---: | --- | ---: | ---: | ---: |",
	];
	for (const row of rows.values()) {
		const speed = median(row.samplesPerSecond);
		const cpu = median(
			rows.get(`${row.network}/${row.batchSize}/cpu`)?.samplesPerSecond ?? [NaN],
		);
		lines.push(
			`| ${row.network} | ${row.batchSize} | ${row.backend} (${row.detail}) | ${fixed(speed, 0)} | ${fixed((data.train.rows / speed) * 1000, 1)} | ${fixed(speed / cpu, 2)} |`,
		);
	}
	return lines.join("\n");
}

if (require.main === module) {
	runTraining().then(
		table => console.log(table),
		error => {
			console.error(error);
			process.exitCode = 1;
		},
	);
}
