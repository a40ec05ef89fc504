/**
 * Graph optimization: onnxruntime's own offline optimization, the graph it would run saved as
 * the new file (SessionOptions.optimizedModelFilePath). "basic" folds constants and removes
 * redundant nodes, keeping standard ONNX ops, so the file runs anywhere; "extended" and "all"
 * also fuse nodes into onnxruntime's own ops (com.microsoft domain: FusedGemm, FusedConv …),
 * so the file then runs only in onnxruntime ("all" may also pick a layout for this CPU).
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import type { OptimizationRecipe } from "./recipe";
import { oneOf, paramsObject } from "./recipe-params";

export const GRAPH_LEVELS = ["basic", "extended", "all"] as const;

export interface GraphParams {
	/** Default "basic". */
	level: (typeof GRAPH_LEVELS)[number];
}

export const graphRecipe: OptimizationRecipe<GraphParams> = {
	kind: "graph",
	description: "onnxruntime's offline graph optimization (basic, extended or all)",
	sourceFormats: ["onnx"],
	needsDataset: false,
	validateParams(raw) {
		const params = paramsObject(raw, "graph", ["level"]);
		return { level: oneOf(params.level, "level", GRAPH_LEVELS, "basic") };
	},
	async run({ sourceFile, params, progress }) {
		const dir = await fs.mkdtemp(path.join(os.tmpdir(), "modelfleet-graph-"));
		try {
			const optimizedModelFilePath = path.join(dir, "optimized.onnx");
			progress(0.2, `optimizing the graph (${params.level})`);
			const session = await ort.InferenceSession.create(sourceFile, {
				graphOptimizationLevel: params.level,
				optimizedModelFilePath,
			});
			await session.release();
			const file = new Uint8Array(await fs.readFile(optimizedModelFilePath));
			return {
				file,
				format: "onnx",
				notes: [
					`onnxruntime ${params.level} graph optimization`,
					...(params.level === "basic"
						? []
						: ["the file may use onnxruntime-only ops (com.microsoft domain)"]),
				],
			};
		} finally {
			await fs.rm(dir, { recursive: true, force: true });
		}
	},
};
