/**
 * Tabular `instances` into one tensor [rows, features] for the version's first input. A row is
 * an object keyed by the schema's feature names (a missing key is a missing value) or an array
 * of values in the schema's feature order. Categorical features take the category itself; it is
 * written as its value or code (see categorical-encoding.ts). Compiled once per version.
 */
import type { ModelSchema, TensorSpec } from "../model-spec/model-schema";
import { categoryEncoding, categoryNumbers, listCategories } from "./categorical-encoding";
import type { ColumnCheck } from "./column-checks";
import { ELEMENT_DECODERS } from "./element-decoders";
import { instancesDescriber, invalidValue, show } from "./input-location";
import { requestTooLarge, type RequestLimits } from "./request-limits";
import type { Tensor, TensorData } from "./tensor";

export interface DecodedInstances {
	tensor: Tensor;
	/** Bytes the typed data holds (what maxRequestBytes counts). */
	bytes: number;
}

export type InstancesDecoder = (instances: readonly unknown[]) => DecodedInstances;

/** Writes one value of one column; returns what is wrong with it, or null. */
type ColumnWriter = (data: TensorData, index: number, value: unknown) => string | null;

function unsupported(reason: string): InstancesDecoder {
	return () => {
		throw invalidValue("instances", `${reason}; send the tensors as inputs instead`);
	};
}

function columnWriters(spec: TensorSpec, width: number): ColumnWriter[] {
	const decoder = ELEMENT_DECODERS[spec.datatype];
	return Array.from({ length: width }, (_, column): ColumnWriter => {
		const encoding = categoryEncoding(spec.features?.[column]);
		if (encoding?.kind !== "code" || spec.datatype === "BYTES")
			return (data, i, value) => decoder.write(data, i, value ?? null);
		const numbers = categoryNumbers(encoding);
		const expected = `one of ${listCategories(encoding.categories)}`;
		return (data, i, value) => {
			if (value === null || value === undefined) return decoder.write(data, i, null);
			const code =
				typeof value === "string" || typeof value === "number"
					? numbers.get(value)
					: undefined;
			if (code === undefined)
				return `got ${show(value)}, not a known category; expected ${expected}`;
			return decoder.write(data, i, code);
		};
	});
}

/**
 * Compiles the decoder of `instances` for a schema whose only input is tabular
 * ([rows, features]); for any other schema the decoder refuses with 400 and says why.
 */
export function compileInstancesDecoder(
	schema: ModelSchema,
	limits: Readonly<RequestLimits>,
	check: ColumnCheck,
): InstancesDecoder {
	// Long because it compiles, once per version, the row decoder the per-request path runs: the
	// column checks and limits it closes over are resolved here, so decoding a row makes no
	// lookups.
	const [spec] = schema.inputs;
	if (schema.inputs.length !== 1)
		return unsupported(
			`instances fill one tabular input but this version takes ${schema.inputs.length} inputs (${schema.inputs.map(i => `'${i.name}'`).join(", ")})`,
		);
	if (spec.shape.length !== 2)
		return unsupported(
			`instances fill an input shaped [rows, features] but '${spec.name}' is shaped [${spec.shape.join(", ")}]`,
		);
	const decoder = ELEMENT_DECODERS[spec.datatype];
	const features = spec.features;
	const featureIndex = new Map(features?.map((f, i) => [f.name, i]));
	const fixedWidth = features?.length ?? (spec.shape[1] === -1 ? null : spec.shape[1]);
	const writersByWidth = new Map<number, ColumnWriter[]>();
	const writersFor = (width: number): ColumnWriter[] => {
		let writers = writersByWidth.get(width);
		if (!writers) {
			writers = columnWriters(spec, width);
			if (writersByWidth.size < 16) writersByWidth.set(width, writers);
		}
		return writers;
	};
	const rowForm = (width: number): string =>
		features
			? `an object keyed by feature name (${features.map(f => f.name).join(", ")}) or an array of their ${width} values in that order`
			: `an array of ${width} values`;

	return instances => {
		const rows = instances.length;
		if (rows > limits.maxRowsPerRequest)
			throw requestTooLarge(
				"instances",
				rows,
				limits.maxRowsPerRequest,
				"maxRowsPerRequest",
				"rows",
			);
		const first = instances[0];
		const width = fixedWidth ?? (Array.isArray(first) ? first.length : 0);
		if (width === 0)
			throw invalidValue("instances[0]", `got ${show(first)}; expected ${rowForm(0)}`);
		const count = rows * width;
		if (decoder.bytesPerElement * count > limits.maxRequestBytes)
			throw requestTooLarge(
				`instances (input '${spec.name}')`,
				decoder.bytesPerElement * count,
				limits.maxRequestBytes,
				"maxRequestBytes",
				"bytes",
			);
		const writers = writersFor(width);
		const data = decoder.allocate(count);
		const describe = instancesDescriber(spec.name, width, features);
		const put = (index: number, value: unknown): void => {
			const problem = writers[index % width](data, index, value);
			if (problem !== null) throw invalidValue(describe(index), problem);
		};
		for (let r = 0; r < rows; r++) {
			const row = instances[r];
			const base = r * width;
			if (Array.isArray(row)) {
				if (row.length !== width)
					throw invalidValue(
						`instances[${r}] (input '${spec.name}')`,
						`has ${row.length} values; expected ${rowForm(width)}`,
					);
				for (let c = 0; c < width; c++) put(base + c, row[c]);
			} else if (typeof row === "object" && row !== null && features) {
				const values = row as Record<string, unknown>;
				for (const key in values) {
					if (!featureIndex.has(key))
						throw invalidValue(
							`instances[${r}] (input '${spec.name}')`,
							`unknown feature '${key}'; expected ${rowForm(width)}`,
						);
				}
				for (let c = 0; c < width; c++) put(base + c, values[features[c].name]);
			} else {
				throw invalidValue(
					`instances[${r}] (input '${spec.name}')`,
					`got ${show(row)}; expected ${rowForm(width)}${features ? "" : " (objects need the schema to name its features)"}`,
				);
			}
		}
		const tensor: Tensor = {
			name: spec.name,
			datatype: spec.datatype,
			shape: [rows, width],
			data,
		};
		let bytes = decoder.bytesPerElement * count;
		if (spec.datatype === "BYTES") {
			bytes = (data as string[]).reduce((n, s) => n + Buffer.byteLength(s), 0);
			if (bytes > limits.maxRequestBytes)
				throw requestTooLarge(
					`instances (input '${spec.name}')`,
					bytes,
					limits.maxRequestBytes,
					"maxRequestBytes",
					"bytes",
				);
		}
		check(tensor, describe, "instances");
		return { tensor, bytes };
	};
}
