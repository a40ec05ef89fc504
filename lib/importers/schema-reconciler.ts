/**
 * Puts together the schema a client gave with a model file and the one the file holds. The file
 * is the authority on what it states; the client may only add to it: a size for a dimension the
 * file leaves dynamic, per-feature names, ranges and categories.
 */
import { SchemaMismatchError } from "../errors";
import type { FeatureSpec, ModelSchema, TensorSpec } from "../model-spec/model-schema";

/**
 * The schema to register: the file's when none is given, else the given one checked against it.
 * Tensors pair by position and must agree in name, datatype and rank; each dimension the file
 * fixes must be the same (or -1) in the given schema, and a dimension the file leaves dynamic (-1)
 * takes the given size. Given features are kept; their count must match the last dimension, and
 * their names those the file holds, if any.
 * @throws SchemaMismatchError naming the first place they disagree, e.g. "inputs[0].shape[1]"
 */
export function reconcileSchema(
	given: ModelSchema | undefined,
	fromFile: ModelSchema,
): ModelSchema {
	if (given === undefined) return fromFile;
	return {
		inputs: reconcileTensors("inputs", given.inputs, fromFile.inputs),
		outputs: reconcileTensors("outputs", given.outputs, fromFile.outputs),
	};
}

function reconcileTensors(
	where: string,
	given: readonly TensorSpec[],
	fromFile: readonly TensorSpec[],
): TensorSpec[] {
	if (given.length !== fromFile.length)
		throw new SchemaMismatchError(
			where,
			given.map(t => t.name),
			fromFile.map(t => t.name),
		);
	return fromFile.map((file, i) => reconcileTensor(`${where}[${i}]`, given[i], file));
}

function reconcileTensor(where: string, given: TensorSpec, file: TensorSpec): TensorSpec {
	if (given.name !== file.name)
		throw new SchemaMismatchError(`${where}.name`, given.name, file.name);
	if (given.datatype !== file.datatype)
		throw new SchemaMismatchError(`${where}.datatype`, given.datatype, file.datatype);
	if (given.shape.length !== file.shape.length)
		throw new SchemaMismatchError(`${where}.shape`, given.shape, file.shape);
	const shape = file.shape.map((fileDim, d) => {
		const givenDim = given.shape[d];
		if (fileDim === -1) return givenDim;
		if (givenDim !== -1 && givenDim !== fileDim)
			throw new SchemaMismatchError(`${where}.shape[${d}]`, givenDim, fileDim);
		return fileDim;
	});
	const tensor: TensorSpec = { name: file.name, datatype: file.datatype, shape };
	const features = reconcileFeatures(where, given.features, file.features, shape);
	if (features !== undefined) tensor.features = features;
	return tensor;
}

function reconcileFeatures(
	where: string,
	given: FeatureSpec[] | undefined,
	fromFile: FeatureSpec[] | undefined,
	shape: number[],
): FeatureSpec[] | undefined {
	if (given === undefined) return fromFile;
	const lastDim = shape.length > 0 ? shape[shape.length - 1] : undefined;
	if (lastDim !== undefined && lastDim !== -1 && given.length !== lastDim)
		throw new SchemaMismatchError(
			`${where}.features`,
			`${given.length} features`,
			`${lastDim} (the last dimension)`,
		);
	if (fromFile !== undefined) {
		if (given.length !== fromFile.length)
			throw new SchemaMismatchError(
				`${where}.features`,
				given.map(f => f.name),
				fromFile.map(f => f.name),
			);
		given.forEach((feature, f) => {
			if (feature.name !== fromFile[f].name)
				throw new SchemaMismatchError(
					`${where}.features[${f}].name`,
					feature.name,
					fromFile[f].name,
				);
		});
	}
	return given.map(feature => ({ ...feature }));
}
