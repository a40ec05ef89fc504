/**
 * Model optimization (issue 21) on the digits MLP (64→64→32→10, trained by the training
 * code) and the small CNN (Conv 8×3×3, MaxPool, Gemm 128→10; seeded filters, trained head),
 * both from bench/models/digits-models.ts: each recipe's file size, accuracy on the held-out
 * rows against the source's, argmax agreement and largest relative output difference, and
 * onnxruntime latency (median of runs over 1.5 s) at batch 1 and 64 next to the source's,
 * measured in the same process one after the other. Static quantization calibrates on 200
 * training rows (min-max and 99.99th percentile).
 */
import { evaluateOptimization } from "../lib/optimization/evaluation";
import { recipeFor } from "../lib/optimization/recipes";
import type { RecipeDataset } from "../lib/optimization/recipe";
import { digitsCnn, loadDigits, trainDigitsMlp, type DigitsModel } from "./models/digits-models";
import { fixed } from "./support/stats";

const VARIANTS: ReadonlyArray<[string, string, Record<string, unknown>]> = [
	["graph basic", "graph", { level: "basic" }],
	["graph all", "graph", { level: "all" }],
	["fp16", "fp16", {}],
	["int8 dynamic (integer)", "int8-dynamic", { form: "integer" }],
	["int8 dynamic (qdq)", "int8-dynamic", { form: "qdq" }],
	["int8 static min-max", "int8-static", { calibration: "minmax" }],
	["int8 static p99.99", "int8-static", { calibration: "percentile", percentile: 99.99 }],
];

async function rows(name: string, model: DigitsModel): Promise<string[]> {
	const lines: string[] = [];
	for (const [label, kind, params] of VARIANTS) {
		const recipe = recipeFor(kind);
		const calibration: RecipeDataset | null = recipe.needsDataset ? model.train : null;
		const output = await recipe.run({
			sourceFile: model.onnx,
			sourceFormat: "onnx",
			params: recipe.validateParams(params),
			dataset: calibration,
			signal: new AbortController().signal,
			progress: () => {},
		});
		const e = await evaluateOptimization(model.onnx, output.file, model.test, {
			sweepMs: 1500,
		});
		const at = (which: "source" | "optimized", batch: number) =>
			e.latency[which].find(p => p.batch === batch)!;
		if (lines.length === 0)
			lines.push(
				`| ${name} source | ${e.size.source} | 1.00 | ${fixed(e.accuracy!.source * 100, 2)} | – | – | – | ${fixed(at("source", 1).p50Ms * 1000, 0)} | ${fixed(at("source", 64).p50Ms * 1000, 0)} | ${fixed(at("source", 64).rowsPerSecond / 1000, 0)}k |`,
			);
		lines.push(
			`| ${name} ${label} | ${e.size.optimized} | ${fixed(e.size.ratio, 2)} | ${fixed(e.accuracy!.optimized * 100, 2)} | ${e.accuracy!.delta >= 0 ? "+" : ""}${fixed(e.accuracy!.delta * 100, 2)} | ${fixed(e.agreement.argmax! * 100, 2)} % | ${e.agreement.maxRelDiff.toExponential(1)} | ${fixed(at("optimized", 1).p50Ms * 1000, 0)} (${fixed(at("source", 1).p50Ms * 1000, 0)}) | ${fixed(at("optimized", 64).p50Ms * 1000, 0)} (${fixed(at("source", 64).p50Ms * 1000, 0)}) | ${fixed(at("optimized", 64).rowsPerSecond / 1000, 0)}k |`,
		);
	}
	return lines;
}

export async function runOptimization(): Promise<string> {
	const digits = await loadDigits();
	const mlp = await trainDigitsMlp(digits);
	const cnn = await digitsCnn(digits);
	return [
		"### Model optimization: digits MLP and small CNN (issue 21)",
		"",
		`Held-out rows: MLP ${mlp.test.rows} (its training job's test split), CNN ${cnn.test.rows}. Latency in µs, median; in brackets the source's, measured just before in the same process. Relative difference: |a−b| / max(|b|, 1e-3) over the probabilities.`,
		"",
		"| model / recipe | bytes | × smaller | accuracy % | Δ points | argmax agree | max rel diff | µs batch 1 (source) | µs batch 64 (source) | rows/s b64 |",
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
		...(await rows("MLP", mlp)),
		...(await rows("CNN", cnn)),
	].join("\n");
}
