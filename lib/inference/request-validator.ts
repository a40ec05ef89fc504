/**
 * Inference requests into tensors, checked against the version's ModelSchema. The predictor
 * calls `compileRequestValidator` once when it loads a version and keeps the function with the
 * loaded model; each request then costs one compiled fastest-validator pass over the JSON
 * envelope and one pass over each tensor's data.
 *
 * A tensor whose `data` is already its datatype's typed array (callers inside the fleet: the
 * transporter's CBOR keeps typed arrays binary) is taken as it is, neither copied nor decoded;
 * it is held to the same header, length, limit and column checks as JSON data.
 *
 * Every refusal is a 400 (InvalidInputError) that names the input, the position
 * (`inputs[0] 'x' row 3 feature 'petal_width' (index 2)`) and the expected form, or a 413 when
 * the request is over a limit (rows per request, bytes of decoded data).
 */
import { classificationCount } from "./classification";
import Validator, { type SyncCheckFunction, type ValidationError } from "fastest-validator";
import { InvalidInputError } from "../errors";
import type { ModelSchema, TensorSpec } from "../model-spec/model-schema";
import { compileColumnCheck, type ColumnCheck } from "./column-checks";
import { ELEMENT_DECODERS, type ElementDecoder } from "./element-decoders";
import { compileInstancesDecoder } from "./instances-decoder";
import { invalidValue, show, tensorDescriber, type ElementDescriber } from "./input-location";
import type { OipInferenceRequest, OipRequestInput, OipTensorData } from "./oip-messages";
import { requestTooLarge, resolveRequestLimits, type RequestLimits } from "./request-limits";
import { elementCount, type Tensor, type TensorData } from "./tensor";
import { flattenTensorData } from "./tensor-data";
import { acceptTypedData } from "./typed-tensor-data";

export interface RequestValidatorOptions {
	/**
	 * Columns of the first input where a missing value (null, NaN, an instance without the
	 * feature) is accepted because the version's pre-processing imputes it: the predictor passes
	 * `compilePipeline(...).imputedColumns`. Default none: every missing value is refused.
	 */
	imputedColumns?: readonly number[];
	/** Output names the pipeline adds (`compilePipeline(...).addedOutputs`) that a client may ask for. */
	addedOutputs?: readonly string[];
}

export interface DecodedRequest {
	id?: string;
	parameters?: Record<string, unknown>;
	/**
	 * One tensor per schema input, in the schema's order. Data given as a typed array is that
	 * same array, not a copy: the caller must leave it alone until the prediction is done.
	 */
	inputs: Tensor[];
	/** The output names asked for; undefined for all. */
	outputs?: string[];
	/** Outputs asked for as their top k classes (Triton's classification extension), by name. */
	classification?: Record<string, number>;
	/** The batch size every input shares (the number of instances). */
	rows: number;
	/** Bytes the typed data holds, all inputs together (what maxRequestBytes counts). */
	bytes: number;
}

/** Decodes and checks one request body; throws 400 or 413. */
export type RequestValidator = (request: unknown) => DecodedRequest;

interface CompiledInput {
	spec: TensorSpec;
	decoder: ElementDecoder;
	checkHeader: SyncCheckFunction;
	checkColumns: ColumnCheck;
}

const SHAPE_MEANING = "(-1 = any size)";

/**
 * `data` is a JSON array or, from inside the fleet, a typed array; which array each datatype
 * needs, and its length, is checked per input once the schema's datatype is known.
 */
function checkTensorData(value: unknown): true | { type: string; actual: unknown }[] {
	// fastest-validator calls this for a missing value too, which `required` has reported.
	return value == null || Array.isArray(value) || ArrayBuffer.isView(value)
		? true
		: [{ type: "array", actual: value }];
}

function envelopeRule(outputNames: readonly string[]): Record<string, unknown> {
	const parameters = { type: "object", optional: true };
	return {
		$$root: true,
		type: "object",
		props: {
			id: { type: "string", optional: true, max: 256 },
			parameters,
			inputs: {
				type: "array",
				optional: true,
				min: 1,
				max: 64,
				items: {
					type: "object",
					props: {
						name: { type: "string", min: 1, max: 256 },
						shape: {
							type: "array",
							max: 16,
							items: { type: "number", integer: true, min: 0 },
						},
						datatype: { type: "string", max: 16 },
						data: { type: "any", custom: checkTensorData },
						parameters,
					},
				},
			},
			instances: { type: "array", optional: true, min: 1 },
			outputs: {
				type: "array",
				optional: true,
				max: 64,
				items: {
					type: "object",
					props: { name: { type: "enum", values: [...outputNames] }, parameters },
				},
			},
		},
	};
}

/** JSON data, flat or nested, into a fresh typed array; throws 400 at the first bad value. */
function decodeJsonData(
	input: CompiledInput,
	json: OipTensorData,
	shape: readonly number[],
	where: string,
	describe: ElementDescriber,
): TensorData {
	const { decoder } = input;
	const leaves = flattenTensorData(json, shape, where);
	const data = decoder.allocate(leaves.length);
	for (let i = 0; i < leaves.length; i++) {
		const problem = decoder.write(data, i, leaves[i]);
		if (problem !== null) throw invalidValue(describe(i), problem);
	}
	return data;
}

/** Per input: its datatype and each dimension of its shape, fixed or any (-1). */
function headerRule(spec: TensorSpec): Record<string, unknown> {
	const dimension = (d: number) =>
		d === -1 ? { type: "any" } : { type: "equal", value: d, strict: true };
	return {
		$$root: true,
		type: "object",
		props: {
			datatype: { type: "equal", value: spec.datatype, strict: true },
			shape:
				spec.shape.length === 0
					? { type: "array", max: 0 }
					: { type: "tuple", empty: false, items: spec.shape.map(dimension) },
		},
	};
}

/** One fastest-validator finding as a sentence about the request. */
function describeViolation(error: ValidationError): string {
	const { expected, actual } = error;
	const field = error.field || "the request body";
	switch (error.type) {
		case "required":
			return `${field} is required`;
		case "object":
			return `${field} must be an object`;
		case "array":
			return `${field} must be an array`;
		case "arrayMin":
			return `${field} must hold at least ${expected} item(s)`;
		case "arrayMax":
			return `${field} may hold at most ${expected} items`;
		case "string":
			return `${field} must be a string`;
		case "stringMin":
			return `${field} must not be empty`;
		case "stringMax":
			return `${field} may be at most ${expected} characters long`;
		case "number":
		case "numberInteger":
			return `${field} is ${show(actual)}; expected an integer ≥ 0`;
		case "numberMin":
			return `${field} is ${show(actual)}; expected an integer ≥ ${expected}`;
		case "enumValue":
			return `${field} is ${show(actual)}; expected one of ${String(expected)
				.split(", ")
				.map(v => `'${v}'`)
				.join(", ")}`;
		default:
			return error.message ?? `${field} is not valid (${error.type})`;
	}
}

/**
 * Compiles the request decoder of one version, once, when the predictor loads it. Merges the
 * limits with DEFAULT_REQUEST_LIMITS and throws INVALID_CONFIGURATION for a bad one.
 */
export function compileRequestValidator(
	schema: ModelSchema,
	limits: Partial<RequestLimits> = {},
	options: RequestValidatorOptions = {},
): RequestValidator {
	// Long because it compiles, once per version, the closures the per-request hot path runs: the
	// input table, the limits and the per-input decoders they share live in this one scope, so a
	// request pays no lookups.
	const resolved = resolveRequestLimits(limits);
	const validator = new Validator();
	const compile = (rule: Record<string, unknown>): SyncCheckFunction =>
		validator.compile(rule) as SyncCheckFunction;
	const outputNames = [...schema.outputs.map(o => o.name), ...(options.addedOutputs ?? [])];
	const checkEnvelope = compile(envelopeRule(outputNames));
	const imputed = new Set(options.imputedColumns ?? []);
	const inputs: CompiledInput[] = schema.inputs.map((spec, i) => ({
		spec,
		decoder: ELEMENT_DECODERS[spec.datatype],
		checkHeader: compile(headerRule(spec)),
		checkColumns: compileColumnCheck(spec, i === 0 ? imputed : new Set()),
	}));
	const expectedInputs = schema.inputs
		.map(s => `'${s.name}' ${s.datatype} [${s.shape.join(", ")}]`)
		.join(", ");
	const decodeInstances = compileInstancesDecoder(schema, resolved, inputs[0].checkColumns);

	const indexByName = new Map(inputs.map((input, i) => [input.spec.name, i]));
	const whereOf = (given: readonly OipRequestInput[], g: number): string =>
		`inputs[${g}] '${given[g].name}'`;

	// The request being decoded, for phrasing a refusal. Decoding is synchronous and nothing
	// it calls decodes another request, so one slot per validator serves every request, and
	// the describers and the lookup table below are made once, not per request.
	let current: readonly OipRequestInput[] = [];
	/** Per schema input, the index of its tensor in `current` (-1: not given). */
	const at = inputs.map(() => -1);
	const placeOf = inputs.map((_, slot) => () => whereOf(current, at[slot]));
	const describerOf = inputs.map((input, slot): ElementDescriber => {
		// Phrasing a position needs the whole message machinery: only when one is refused.
		return i =>
			tensorDescriber(placeOf[slot](), current[at[slot]].shape, input.spec.features)(i);
	});

	// Plain loops, no Maps, closures or spreads per request: with typed data a request costs
	// little beyond its data's one pass.
	const decodeTensors = (given: readonly OipRequestInput[]): DecodedRequest => {
		current = given;
		// Loops, not fill/includes: on a one-element table those are mostly call overhead.
		for (let slot = 0; slot < at.length; slot++) at[slot] = -1;
		try {
			return decodeCurrent(given);
		} finally {
			// Not kept past the call: a refused request's data must not stay reachable.
			current = [];
		}
	};

	const decodeCurrent = (given: readonly OipRequestInput[]): DecodedRequest => {
		// Long because it is the per-request decode loop itself (match, shape, size, decode each
		// input): kept in one body so the hot path makes no extra calls per input.
		const count = inputs.length;
		for (let g = 0; g < given.length; g++) {
			const tensor = given[g];
			const slot =
				count === 1
					? tensor.name === inputs[0].spec.name
						? 0
						: -1
					: (indexByName.get(tensor.name) ?? -1);
			if (slot === -1)
				throw invalidValue(
					whereOf(given, g),
					`no such input; expected inputs ${expectedInputs}`,
				);
			if (at[slot] !== -1)
				throw invalidValue(whereOf(given, g), "given twice; expected each input once");
			const input = inputs[slot];
			const header = input.checkHeader(tensor);
			if (header !== true) {
				const { spec } = input;
				throw invalidValue(
					whereOf(given, g),
					header[0].field === "datatype"
						? `datatype ${tensor.datatype} does not match the schema; expected ${spec.datatype}`
						: `shape [${tensor.shape.join(", ")}] does not match the schema; expected [${spec.shape.join(", ")}] ${SHAPE_MEANING}`,
				);
			}
			at[slot] = g;
		}
		let found = 0;
		for (let slot = 0; slot < count; slot++) if (at[slot] !== -1) found++;
		if (found < count) {
			const missing = inputs.filter((_, i) => at[i] === -1).map(i => `'${i.spec.name}'`);
			throw new InvalidInputError(
				`inputs: missing ${missing.join(", ")}; expected inputs ${expectedInputs}.`,
				{ where: "inputs", missing },
			);
		}

		// Limits first, from the shapes alone: before any data is read or anything allocated.
		const first = given[at[0]];
		const rows = first.shape.length > 0 ? first.shape[0] : 1;
		let bytes = 0;
		for (let slot = 0; slot < count; slot++) {
			const tensor = given[at[slot]];
			const batch = tensor.shape.length > 0 ? tensor.shape[0] : 1;
			if (batch !== rows)
				throw invalidValue(
					whereOf(given, at[slot]),
					`batch size ${batch} differs from ${whereOf(given, at[0])}'s ${rows}; expected every input to hold the same rows`,
				);
			bytes += inputs[slot].decoder.bytesPerElement * elementCount(tensor.shape);
		}
		if (rows > resolved.maxRowsPerRequest)
			throw requestTooLarge(
				whereOf(given, at[0]),
				rows,
				resolved.maxRowsPerRequest,
				"maxRowsPerRequest",
				"rows",
			);
		if (bytes > resolved.maxRequestBytes)
			throw requestTooLarge(
				"inputs (all tensors)",
				bytes,
				resolved.maxRequestBytes,
				"maxRequestBytes",
				"bytes",
			);

		const tensors = new Array<Tensor>(count);
		for (let slot = 0; slot < count; slot++) {
			const { spec, checkColumns } = inputs[slot];
			const tensor = given[at[slot]];
			const { shape } = tensor;
			const describe = describerOf[slot];
			const data = ArrayBuffer.isView(tensor.data)
				? acceptTypedData(spec.datatype, tensor.data, shape, placeOf[slot], describe)
				: decodeJsonData(inputs[slot], tensor.data, shape, placeOf[slot](), describe);
			if (spec.datatype === "BYTES") {
				bytes += (data as string[]).reduce((n, s) => n + Buffer.byteLength(s), 0);
				if (bytes > resolved.maxRequestBytes)
					throw requestTooLarge(
						"inputs (all tensors)",
						bytes,
						resolved.maxRequestBytes,
						"maxRequestBytes",
						"bytes",
					);
			}
			const decoded: Tensor = {
				name: spec.name,
				datatype: spec.datatype,
				shape: [...shape],
				data,
			};
			checkColumns(decoded, describe, "inputs");
			tensors[slot] = decoded;
		}
		return { inputs: tensors, rows, bytes };
	};

	return request => {
		const envelope = checkEnvelope(request);
		if (envelope !== true)
			throw new InvalidInputError(
				`Invalid inference request: ${envelope.slice(0, 3).map(describeViolation).join("; ")}.`,
				{ where: envelope[0].field },
			);
		const body = request as OipInferenceRequest;
		if (body.inputs && body.instances)
			throw new InvalidInputError(
				"Invalid inference request: both inputs and instances given; expected one of them.",
				{ where: "request" },
			);
		let decoded: DecodedRequest;
		if (body.instances) {
			const { tensor, bytes } = decodeInstances(body.instances);
			decoded = { inputs: [tensor], rows: tensor.shape[0], bytes };
		} else if (body.inputs) {
			decoded = decodeTensors(body.inputs);
		} else {
			throw new InvalidInputError(
				`Invalid inference request: no inputs; expected inputs (Open Inference Protocol tensors: ${expectedInputs}) or instances (rows of features).`,
				{ where: "request" },
			);
		}
		// The envelope's optional fields let null through (fastest-validator's `optional`): null
		// is the same as left out.
		if (body.id != null) decoded.id = body.id;
		if (body.parameters != null) decoded.parameters = body.parameters;
		if (body.outputs != null) {
			decoded.outputs = body.outputs.map(o => o.name);
			for (const output of body.outputs) {
				const k = classificationCount(output.parameters, output.name);
				if (k !== undefined) (decoded.classification ??= {})[output.name] = k;
			}
		}
		return decoded;
	};
}
