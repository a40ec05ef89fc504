/**
 * Background rows from the fleet's datasets, for KernelSHAP: the dataset's record from the
 * registry (for the caller's tenant: another tenant's is a 404), its file streamed from the
 * node's blobs and parsed, and the sampled rows kept a while (10 minutes, 64 samples) so
 * repeated explanations do not parse the file again.
 */
import type { Readable } from "node:stream";
import { parseDataset } from "../datasets/parse-dataset";
import { NotFoundError } from "../errors";
import { TtlCache } from "../cache/ttl-cache";
import type { ServedModel } from "../predictor/served-model";
import type { DatasetView } from "../registry/dataset-store";
import { datasetInstances, labelledInstances } from "./dataset-background";
import type { DatasetRowsLoader } from "./explain-model";

export interface DatasetRowsDeps {
	/** registry.datasets.get as the caller: name, name@N, id or sha256. */
	getDataset(ref: string): Promise<DatasetView>;
	/** The blob's plaintext, or null when the fleet does not have it. */
	readBlob(sha256: string): Promise<Readable | null>;
}

/** A dataset's rows with their labels, and the dataset they came from. */
export interface LabelledRows {
	instances: unknown[];
	labels: (number | string | null)[];
	ref: string;
	sha256: string;
}

export class DatasetRows {
	private readonly samples = new TtlCache<unknown[]>(10 * 60_000, 64);

	/**
	 * Labelled rows of a dataset for one call and one served version (permutation importance):
	 * not cached, importance is asked for rarely and names the dataset it measures on.
	 */
	async labelled(
		deps: DatasetRowsDeps,
		model: ServedModel,
		source: { dataset: string; rows: number; seed: number; labelColumn: string | null },
	): Promise<LabelledRows> {
		const view = await deps.getDataset(source.dataset);
		const input = model.schema.inputs[0];
		const names = input?.features?.map(f => f.name) ?? null;
		const width = input?.shape[1] ?? names?.length ?? 0;
		const file = await deps.readBlob(view.sha256);
		if (file === null) throw new NotFoundError("dataset file", view.ref);
		const parsed = await parseDataset(file, {
			format: view.format as "csv" | "ndjson",
			labelColumn: source.labelColumn ?? view.labelColumn ?? undefined,
			maxBytes: Number.MAX_SAFE_INTEGER,
		});
		const labelled = labelledInstances(
			parsed,
			names,
			width,
			source.rows,
			source.seed,
			source.labelColumn ?? view.labelColumn,
		);
		return { ...labelled, ref: view.ref, sha256: view.sha256 };
	}

	/** The loader for one call (its caller's tenant) and one served version (its features). */
	loader(deps: DatasetRowsDeps, model: ServedModel): DatasetRowsLoader {
		return async ({ dataset, rows, seed }) => {
			const view = await deps.getDataset(dataset);
			const input = model.schema.inputs[0];
			const names = input?.features?.map(f => f.name) ?? null;
			const width = input?.shape[1] ?? names?.length ?? 0;
			const key = [view.sha256, rows, seed, width, ...(names ?? [])].join("\u0000");
			const known = this.samples.get(key);
			if (known !== undefined) return known;
			const file = await deps.readBlob(view.sha256);
			if (file === null) throw new NotFoundError("dataset file", view.ref);
			const parsed = await parseDataset(file, {
				format: view.format as "csv" | "ndjson",
				labelColumn: view.labelColumn ?? undefined,
				maxBytes: Number.MAX_SAFE_INTEGER,
			});
			const instances = datasetInstances(parsed, names, width, rows, seed);
			this.samples.set(key, instances);
			return instances;
		};
	}
}
