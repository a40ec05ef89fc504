/**
 * The `data` of an Open Inference Protocol tensor sent as a typed array, as callers inside the
 * fleet do (the transporter's CBOR keeps typed arrays binary). It is taken as it is, with no
 * copy and no per-element decoding, once it is exactly the datatype's array
 * (`TYPED_ARRAY_OF`) and as long as the shape.
 */
import type { OipDatatype } from "../model-spec/model-schema";
import { invalidValue, type ElementDescriber } from "./input-location";
import type { OipTypedTensorData } from "./oip-messages";
import { elementCount, TYPED_ARRAY_OF, typedArrayName } from "./tensor";

/**
 * The array type of a view: its typed-array kind (see typedArrayName; a Node Buffer counts as
 * the Uint8Array it is), else its toStringTag ("DataView").
 */
export function arrayTypeName(view: ArrayBufferView): string {
	return typedArrayName(view) ?? Object.prototype.toString.call(view).slice(8, -1);
}

function withArticle(name: string): string {
	return `${/^[AEIO]/.test(name) ? "an" : "a"} ${name}`;
}

function expectedArray(datatype: OipDatatype): string {
	if (datatype === "BYTES") return "a JSON array of strings (BYTES)";
	const name = withArticle(TYPED_ARRAY_OF[datatype].name);
	return datatype === "FP16"
		? `${name} of half-precision bit patterns (FP16) or a JSON array`
		: `${name} (${datatype}) or a JSON array`;
}

/**
 * `data` as the tensor's data, the same object; throws 400 naming the input (`where`, or a
 * function that phrases it, called only then) when it is not the
 * datatype's array or not as long as the shape, and at the first BOOL that is neither 0 nor 1.
 * Values are otherwise left to the column checks.
 */
export function acceptTypedData(
	datatype: OipDatatype,
	data: ArrayBufferView,
	shape: readonly number[],
	where: string | (() => string),
	describe: ElementDescriber,
): OipTypedTensorData {
	const place = (): string => (typeof where === "string" ? where : where());
	const given = arrayTypeName(data);
	if (datatype === "BYTES" || given !== TYPED_ARRAY_OF[datatype].name)
		throw invalidValue(
			place(),
			`data is ${withArticle(given)}; expected ${expectedArray(datatype)}`,
		);
	const typed = data as OipTypedTensorData;
	const count = elementCount(shape);
	if (typed.length !== count)
		throw invalidValue(
			place(),
			`data is ${withArticle(given)} of ${typed.length} values but shape [${shape.join(", ")}] needs ${count}; expected ${withArticle(given)} of ${count} values, flat and row-major`,
		);
	if (datatype === "BOOL") {
		const bits = typed as Uint8Array;
		for (let i = 0; i < bits.length; i++)
			if (bits[i] > 1)
				throw invalidValue(describe(i), `got ${bits[i]}; expected 0 or 1 (BOOL)`);
	}
	return typed;
}
