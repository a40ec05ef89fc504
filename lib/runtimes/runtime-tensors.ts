/**
 * Checks shared by the runtimes: the tensors a batch brings against the model's schema, the
 * outputs a caller asks for, and the errors a failed load or a disposed model gives.
 */
import * as path from "node:path";
import { InvalidInputError, ModelLoadError } from "../errors";
import { reasonOf } from "../files/error-reasons";
import { elementCount, typedArrayName, type Tensor } from "../inference/tensor";
import type { OipDatatype, TensorSpec } from "../model-spec/model-schema";

/**
 * The array each datatype's data must be, by its toStringTag: unlike `instanceof`, that holds
 * for typed arrays from another realm (a worker thread's transfer, jest's sandbox, a native addon).
 */
const ARRAY_TAG_OF: Readonly<Record<OipDatatype, string>> = {
	BOOL: "Uint8Array",
	UINT8: "Uint8Array",
	UINT16: "Uint16Array",
	UINT32: "Uint32Array",
	UINT64: "BigUint64Array",
	INT8: "Int8Array",
	INT16: "Int16Array",
	INT32: "Int32Array",
	INT64: "BigInt64Array",
	FP16: "Uint16Array",
	FP32: "Float32Array",
	FP64: "Float64Array",
	BYTES: "Array",
};

function arrayTag(data: unknown): string {
	return (
		typedArrayName(data) ??
		(Array.isArray(data) ? "Array" : Object.prototype.toString.call(data).slice(8, -1))
	);
}

/**
 * Checks one tensor's own consistency: whole non-negative dimensions, data of its datatype's
 * array, as many values as the shape holds.
 * @throws InvalidInputError saying what is wrong
 */
export function checkTensor(tensor: Tensor, datatypes: OipDatatype | readonly OipDatatype[]): void {
	const { name, datatype, shape, data } = tensor;
	if (typeof datatypes === "string" ? datatype !== datatypes : !datatypes.includes(datatype))
		throw new InvalidInputError(
			`Input '${name}' is ${datatype}, but the model takes ${[datatypes].flat().join(" or ")}.`,
			{ input: name, datatype, expected: [datatypes].flat() },
		);
	// Plain loops: every batch passes here, on the event loop for in-process runtimes.
	let count = Array.isArray(shape) ? 1 : -1;
	for (let d = 0; count >= 0 && d < shape.length; d++) {
		const dim = shape[d];
		count = Number.isInteger(dim) && dim >= 0 ? count * dim : -1;
	}
	if (count < 0)
		throw new InvalidInputError(
			`Input '${name}' has shape ${JSON.stringify(shape)}; dimensions must be whole numbers ≥ 0.`,
			{ input: name },
		);
	if (arrayTag(data) !== ARRAY_TAG_OF[datatype])
		throw new InvalidInputError(
			`Input '${name}' is ${datatype} but its data is a ${arrayTag(data)}, not a ${ARRAY_TAG_OF[datatype]}.`,
			{ input: name, datatype },
		);
	if (data.length !== count)
		throw new InvalidInputError(
			`Input '${name}' has shape [${shape.join(", ")}] (${elementCount(shape)} values) but ${data.length} values.`,
			{ input: name, shape: [...shape], values: data.length },
		);
}

/**
 * Lines the batch's tensors up with the schema's inputs: each input exactly once, of its
 * datatype (or one `datatypesOf` allows), of its rank, with its fixed dimensions (-1 matches
 * any size).
 * @returns the tensors in the schema's order (`inputs` itself when it is in that order already)
 * @throws InvalidInputError for a missing, unknown, repeated or ill-shaped input
 */
export function matchInputs(
	specs: readonly TensorSpec[],
	inputs: readonly Tensor[],
	datatypesOf: (spec: TensorSpec) => OipDatatype | readonly OipDatatype[] = spec => spec.datatype,
): readonly Tensor[] {
	// The usual case, one input under the schema's name, without the lookup table.
	if (specs.length === 1 && inputs.length === 1 && inputs[0].name === specs[0].name) {
		const spec = specs[0];
		const tensor = inputs[0];
		checkTensor(tensor, datatypesOf(spec));
		checkShape(spec, tensor.shape);
		return inputs;
	}
	const byName = new Map<string, Tensor>();
	for (const tensor of inputs) {
		if (!specs.some(spec => spec.name === tensor.name))
			throw new InvalidInputError(
				`The model has no input '${tensor.name}'; its inputs are: ${specs.map(s => s.name).join(", ")}.`,
				{ input: tensor.name, inputs: specs.map(s => s.name) },
			);
		if (byName.has(tensor.name))
			throw new InvalidInputError(`Input '${tensor.name}' is given twice.`, {
				input: tensor.name,
			});
		byName.set(tensor.name, tensor);
	}
	return specs.map(spec => {
		const tensor = byName.get(spec.name);
		if (tensor === undefined)
			throw new InvalidInputError(`Input '${spec.name}' is missing.`, { input: spec.name });
		checkTensor(tensor, datatypesOf(spec));
		checkShape(spec, tensor.shape);
		return tensor;
	});
}

/** An empty schema shape says nothing (the file had no shape), so only a rank > 0 is checked. */
function checkShape(spec: TensorSpec, shape: readonly number[]): void {
	if (spec.shape.length === 0) return;
	let fits = shape.length === spec.shape.length;
	for (let i = 0; fits && i < shape.length; i++)
		fits = spec.shape[i] < 0 || spec.shape[i] === shape[i];
	if (!fits)
		throw new InvalidInputError(
			`Input '${spec.name}' has shape [${shape.join(", ")}], but the model takes [${spec.shape.join(", ")}] (-1: any size).`,
			{ input: spec.name, shape: [...shape], expected: [...spec.shape] },
		);
}

/**
 * @returns the names of the outputs to give: all, in the schema's order, when `requested` is
 *   left out; else the requested ones in the order asked, each once
 * @throws InvalidInputError for a name the model has no output of
 */
export function selectOutputs(
	specs: readonly TensorSpec[],
	requested: readonly string[] | undefined,
): string[] {
	if (requested === undefined) return specs.map(spec => spec.name);
	for (const name of requested) {
		if (!specs.some(spec => spec.name === name))
			throw new InvalidInputError(
				`The model has no output '${name}'; its outputs are: ${specs.map(s => s.name).join(", ")}.`,
				{ output: name, outputs: specs.map(s => s.name) },
			);
	}
	return [...new Set(requested)];
}

/**
 * What a failed load throws. ModelLoadError, not InvalidModelFileError: the file was accepted
 * when it was imported, so a failure now is this node's (a damaged cached copy, a runtime build
 * without an operator, memory), not the predict caller's; the error is retryable (503), so the
 * predictor may fetch the file again or go to another node. The stored file's path stays out
 * of the message: the model is named by the file's name (the artifact's hash).
 */
export function loadError(filePath: string, label: string, error: unknown): ModelLoadError {
	if (error instanceof ModelLoadError) return error;
	const reason = reasonOf(error, filePath);
	return new ModelLoadError(
		modelRef(filePath),
		hasSyscall(error)
			? `the file cannot be read: ${reason}`
			: `${label} cannot load it: ${reason}`,
	);
}

/** The name errors give a model by: its file's name (the artifact's hash), never its path. */
export function modelRef(filePath: string): string {
	return path.basename(filePath);
}

/** fs errors (ENOENT, EACCES) by their syscall: no `instanceof`, which fails across realms. */
function hasSyscall(error: unknown): boolean {
	return typeof (error as { syscall?: unknown } | null)?.syscall === "string";
}

/** What running a disposed model throws: retryable, since loading it again makes it run. */
export function disposedError(ref: string): ModelLoadError {
	return new ModelLoadError(ref, "the model was disposed (unloaded); load it again to run it");
}
