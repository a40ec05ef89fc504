/**
 * Where the tests that train begin: a classification model and a dataset of the same name from
 * test/fixtures/datasets/, both made through a gateway's REST API, and the spec of a training
 * job on them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { apiClient } from "./test-node";

/** The CSV fixtures this can upload; each has its label in column "label". */
export type FixtureDataset = "digits" | "iris";

const FIXTURE_DATASETS = path.join(__dirname, "..", "fixtures", "datasets");

/**
 * Creates model `name` (classification, TF.js) and uploads test/fixtures/datasets/<name>.csv
 * as dataset `name` with label column "label", through the gateway's `/api/v1` URL `api`
 * acting with `key`; each must answer 201.
 */
export async function createModelWithDataset(
	api: string,
	key: string,
	name: FixtureDataset,
): Promise<void> {
	const model = await apiClient(api, key)("/models", {
		method: "POST",
		body: { name, task: "classification", framework: "tfjs" },
	});
	expect(model.status).toBe(201);
	const dataset = await fetch(`${api}/datasets?name=${name}&labelColumn=label`, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "text/csv" },
		body: fs.readFileSync(path.join(FIXTURE_DATASETS, `${name}.csv`)),
	});
	expect(dataset.status).toBe(201);
}

/** A training job's spec for model `name` on dataset `name` (label "label"), `rest` added. */
export function trainingSpec(
	name: FixtureDataset,
	rest: Record<string, unknown>,
): Record<string, unknown> {
	return { target: name, dataset: name, labelColumn: "label", ...rest };
}
