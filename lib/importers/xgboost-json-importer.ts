/**
 * XGBoost models saved as JSON (Booster.save_model("model.json")): parsed and checked in full
 * (lib/runtimes/xgboost/xgboost-json-model.ts), since modelfleet walks the trees itself.
 *
 * Schema: one FP32 input "input" of shape [-1, numFeatures], with the feature names when the
 * file has them; one FP32 output "predict" (the name MLServer's and KServe's XGBoost servers use)
 * shaped as XGBoost's own `Booster.predict` returns it:
 *   - multi:softprob → [-1, numClasses], a probability per class;
 *   - multi:softmax → [-1], the class index (as a float, as XGBoost gives it);
 *   - multi-target models (num_target > 1) → [-1, numTargets];
 *   - every other objective → [-1]: binary:logistic the probability of class 1, binary:logitraw
 *     the margin, regression the value, ranking the score.
 */
import * as fs from "node:fs/promises";
import { InvalidModelFileError } from "../errors";
import { parseClientJson } from "../json-policy";
import { isSystemError, reasonOf } from "../files/error-reasons";
import type { ImportedModel, ModelImporter } from "./model-importer";
import {
	readXgboostJsonModel,
	xgboostSchema,
	type XgboostJsonModel,
} from "../runtimes/xgboost/xgboost-json-model";

/** What the output of each objective means, shown in details. */
function outputMeaning(model: XgboostJsonModel): string {
	const { objective } = model;
	if (objective === "multi:softprob") return "probability of each class";
	if (objective === "multi:softmax") return "index of the most likely class";
	if (objective === "binary:logistic") return "probability of class 1";
	if (objective === "binary:logitraw") return "margin (log-odds) of class 1";
	if (objective === "binary:hinge") return "predicted class (0 or 1)";
	if (objective.startsWith("rank:")) return "ranking score";
	if (objective === "survival:cox") return "hazard ratio";
	if (objective === "survival:aft") return "predicted survival time";
	return model.numTarget > 1 ? "predicted value of each target" : "predicted value";
}

/** Classes the model tells apart: 2 for binary:*, num_class for multi:*, 0 otherwise. */
function numClasses(model: XgboostJsonModel): number {
	if (model.objective.startsWith("binary:")) return 2;
	if (model.objective.startsWith("multi:")) return model.numClass;
	return 0;
}

export class XgboostJsonImporter implements ModelImporter {
	readonly format = "xgboost-json" as const;
	readonly label = "XGBoost JSON";

	async import(filePath: string): Promise<ImportedModel> {
		let document: unknown;
		try {
			// One string of the whole file: V8 caps strings near 512 MiB, far above tree models.
			// Under the JSON decoding policy, as any JSON a client sends (trees are flat arrays).
			document = parseClientJson(await fs.readFile(filePath), {
				what: "The file",
				syntaxError: (_, error) => error,
			});
		} catch (error) {
			if (isSystemError(error)) throw error;
			throw new InvalidModelFileError(
				this.label,
				`not valid JSON: ${reasonOf(error, filePath)}`,
			);
		}
		const model = readXgboostJsonModel(document);
		const details: Record<string, unknown> = {
			objective: model.objective,
			output: outputMeaning(model),
			numFeatures: model.numFeatures,
			numClasses: numClasses(model),
			numTargets: model.numTarget,
			numTrees: model.trees.length,
			baseScore: model.baseScore.length === 1 ? model.baseScore[0] : model.baseScore,
			booster: model.booster,
			hasCategoricalSplits: model.trees.some(tree => tree.categoriesNodes.length > 0),
		};
		if (model.version !== undefined) details.xgboostVersion = model.version;
		if (model.featureTypes.length > 0) details.featureTypes = model.featureTypes;
		return { format: this.format, schema: xgboostSchema(model), details };
	}
}
