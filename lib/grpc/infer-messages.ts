/**
 * The gRPC inference messages (proto/grpc_service.proto) in the terms of the HTTP route: a
 * `ModelInferRequest` becomes the very request object the binary tensor extension's body
 * parser makes (lib/http/oip-binary.ts `attachBinaryInputs`: `raw_input_contents` decoded and
 * checked as `binary_data_size` tensors are), so the predictor validates and serves it as it
 * does an HTTP request; a prediction's parts become a `ModelInferResponse` with every output in
 * `raw_output_contents` (Triton's own choice: no per-element protobuf encoding).
 */
import { InvalidInputError } from "../errors";
import { attachBinaryInputs, tensorBytes } from "../http/oip-binary";
import type { InferenceResponseParts } from "../inference/response-encoder";

/** A parameter value as proto-loader decodes it (`oneofs: true` names the field set). */
export interface GrpcParameter {
	parameter_choice?: string;
	bool_param?: boolean;
	int64_param?: number;
	string_param?: string;
	double_param?: number;
	uint64_param?: number;
	bytes_param?: Buffer;
}

export interface GrpcTensorContents {
	bool_contents?: boolean[];
	int_contents?: number[];
	int64_contents?: number[];
	uint_contents?: number[];
	uint64_contents?: number[];
	fp32_contents?: number[];
	fp64_contents?: number[];
	bytes_contents?: Buffer[];
}

export interface GrpcInferInput {
	name?: string;
	datatype?: string;
	shape?: number[];
	parameters?: Record<string, GrpcParameter>;
	contents?: GrpcTensorContents | null;
}

export interface GrpcInferRequest {
	model_name?: string;
	model_version?: string;
	id?: string;
	parameters?: Record<string, GrpcParameter>;
	inputs?: GrpcInferInput[];
	outputs?: { name?: string; parameters?: Record<string, GrpcParameter> }[];
	raw_input_contents?: Buffer[];
}

export interface GrpcInferResponse {
	model_name: string;
	model_version: string;
	id: string;
	parameters: Record<string, GrpcParameter>;
	outputs: {
		name: string;
		datatype: string;
		shape: number[];
		parameters: Record<string, GrpcParameter>;
	}[];
	raw_output_contents: Buffer[];
}

/** The typed contents field of each datatype (FP16 has none: it travels raw). */
const CONTENTS_FIELD: Readonly<Record<string, keyof GrpcTensorContents>> = {
	BOOL: "bool_contents",
	INT8: "int_contents",
	INT16: "int_contents",
	INT32: "int_contents",
	INT64: "int64_contents",
	UINT8: "uint_contents",
	UINT16: "uint_contents",
	UINT32: "uint_contents",
	UINT64: "uint64_contents",
	FP32: "fp32_contents",
	FP64: "fp64_contents",
	BYTES: "bytes_contents",
};

/** A parameter map as JSON values (what an HTTP request's `parameters` holds). */
export function parametersOf(
	map: Record<string, GrpcParameter> | undefined,
): Record<string, unknown> | undefined {
	if (map === undefined) return undefined;
	const entries = Object.entries(map);
	if (entries.length === 0) return undefined;
	const out: Record<string, unknown> = {};
	for (const [name, parameter] of entries) {
		const choice = parameter.parameter_choice as keyof GrpcParameter | undefined;
		const value = choice !== undefined ? parameter[choice] : undefined;
		if (value === undefined)
			throw new InvalidInputError(
				`Parameter '${name.slice(0, 256)}' has no value; set one of bool_param, int64_param, string_param, double_param or uint64_param.`,
				{ where: `parameters.${name.slice(0, 256)}` },
			);
		out[name] = Buffer.isBuffer(value) ? value.toString("base64") : value;
	}
	return out;
}

/** A JSON value as a gRPC parameter (numbers that are whole become int64, others double). */
function parameterOf(value: unknown): GrpcParameter | null {
	if (typeof value === "boolean") return { bool_param: value };
	if (typeof value === "string") return { string_param: value };
	if (typeof value === "number")
		return Number.isSafeInteger(value) ? { int64_param: value } : { double_param: value };
	return null;
}

function grpcParameters(
	values: Record<string, unknown> | undefined,
): Record<string, GrpcParameter> {
	const out: Record<string, GrpcParameter> = {};
	for (const [name, value] of Object.entries(values ?? {})) {
		const parameter = parameterOf(value);
		if (parameter !== null) out[name] = parameter;
	}
	return out;
}

/** One input's typed contents as JSON `data`, or undefined when it has none. */
function contentsData(input: GrpcInferInput, where: string): unknown[] | undefined {
	const contents = input.contents;
	if (contents === undefined || contents === null) return undefined;
	const field = CONTENTS_FIELD[input.datatype ?? ""];
	const used = (Object.keys(CONTENTS_FIELD) as string[])
		.map(datatype => CONTENTS_FIELD[datatype])
		.filter((name, i, all) => all.indexOf(name) === i)
		.filter(name => (contents[name]?.length ?? 0) > 0);
	if (used.length === 0) return undefined;
	if (field === undefined || used.length > 1 || used[0] !== field)
		throw new InvalidInputError(
			`${where}: contents has ${used.join(", ")} but datatype ${JSON.stringify(input.datatype)?.slice(0, 40)} takes ${field ?? "raw_input_contents only"}; expected the field of its datatype (FP16 only as raw_input_contents).`,
			{ where },
		);
	const values = contents[field] ?? [];
	return field === "bytes_contents"
		? (values as Buffer[]).map(b => b.toString("utf8"))
		: (values as unknown[]);
}

/**
 * The HTTP request object of a `ModelInferRequest` (inputs with `data` attached, typed arrays
 * for raw contents), and the model and version it names. Throws 400 for what the binary
 * extension would refuse, plus raw contents that do not match the inputs one to one.
 */
export function inferRequestOf(message: GrpcInferRequest): {
	request: Record<string, unknown>;
	model: string;
	version?: string;
} {
	const inputs = message.inputs ?? [];
	const raw = message.raw_input_contents ?? [];
	if (raw.length > 0 && raw.length !== inputs.length)
		throw new InvalidInputError(
			`raw_input_contents has ${raw.length} entries for ${inputs.length} inputs; expected one per input, in the inputs' order.`,
			{ where: "raw_input_contents" },
		);
	const header = {
		...(message.id ? { id: message.id } : {}),
		...(message.parameters ? { parameters: parametersOf(message.parameters) } : {}),
		inputs: inputs.map((input, i) => {
			const where = `inputs[${i}] '${(input.name ?? "").slice(0, 256)}'`;
			const data = contentsData(input, where);
			if (raw.length > 0 && data !== undefined)
				throw new InvalidInputError(
					`${where}: has contents while the request carries raw_input_contents; expected one or the other for every input.`,
					{ where },
				);
			const parameters = parametersOf(input.parameters);
			return {
				name: input.name ?? "",
				datatype: input.datatype ?? "",
				shape: input.shape ?? [],
				...(parameters !== undefined ? { parameters } : {}),
				...(data !== undefined ? { data } : {}),
			};
		}),
		...(message.outputs && message.outputs.length > 0
			? {
					outputs: message.outputs.map(output => {
						const parameters = parametersOf(output.parameters);
						return {
							name: output.name ?? "",
							...(parameters !== undefined ? { parameters } : {}),
						};
					}),
				}
			: {}),
	};
	let request: Record<string, unknown> = header;
	if (raw.length > 0) {
		// Each input's raw bytes are checked and decoded as the binary extension's are.
		request = {
			...header,
			inputs: header.inputs.map((input, i) => {
				const attached = attachBinaryInputs(
					{
						inputs: [
							{
								...input,
								parameters: {
									...(input.parameters ?? {}),
									binary_data_size: raw[i].length,
								},
							},
						],
					},
					raw[i],
				) as { inputs: Record<string, unknown>[] };
				return attached.inputs[0];
			}),
		};
	}
	const model = message.model_name ?? "";
	if (model === "")
		throw new InvalidInputError("model_name is empty; name the model to infer with.", {
			where: "model_name",
		});
	return {
		request,
		model,
		...(message.model_version ? { version: message.model_version } : {}),
	};
}

/** A prediction's parts as a `ModelInferResponse`, every output raw. */
export function inferResponseOf(parts: InferenceResponseParts): GrpcInferResponse {
	return {
		model_name: parts.modelName,
		model_version: parts.modelVersion ?? "",
		id: parts.id ?? "",
		parameters: grpcParameters(parts.parameters),
		outputs: parts.outputs.map(tensor => ({
			name: tensor.name,
			datatype: tensor.datatype,
			shape: [...tensor.shape],
			parameters: {},
		})),
		raw_output_contents: parts.outputs.map(tensor => tensorBytes(tensor)),
	};
}
