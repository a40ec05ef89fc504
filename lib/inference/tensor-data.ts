/**
 * The `data` of an Open Inference Protocol tensor, flat or nested, as one row-major list of
 * leaves. Flat data is used as it is (no copy); nested data must follow the shape exactly,
 * level by level, so a mistake is reported where it is rather than as a wrong total.
 */
import { invalidValue } from "./input-location";
import { elementCount } from "./tensor";

function expectedForm(shape: readonly number[]): string {
	const nested = shape.map(d => `[${d}]`).join("");
	return `flat row-major data of ${elementCount(shape)} values, or arrays nested as ${nested || "[1]"}`;
}

/** The leaves of `data` in row-major order; throws 400 naming the input when it does not fit `shape`. */
export function flattenTensorData(
	data: readonly unknown[],
	shape: readonly number[],
	where: string,
): readonly unknown[] {
	const count = elementCount(shape);
	const nested = shape.length > 1 && data.length > 0 && Array.isArray(data[0]);
	if (!nested) {
		if (data.length !== count)
			throw invalidValue(
				where,
				`data holds ${data.length} values but shape [${shape.join(", ")}] needs ${count}; expected ${expectedForm(shape)}`,
			);
		return data;
	}
	const leaves = new Array<unknown>(count);
	let next = 0;
	const walk = (level: readonly unknown[], depth: number, path: string): void => {
		if (level.length !== shape[depth])
			throw invalidValue(
				where,
				`data${path} holds ${level.length} values but shape [${shape.join(", ")}] needs ${shape[depth]} at this level; expected ${expectedForm(shape)}`,
			);
		const leaf = depth === shape.length - 1;
		for (let i = 0; i < level.length; i++) {
			const item = level[i];
			if (leaf) {
				leaves[next++] = item;
			} else if (Array.isArray(item)) {
				walk(item, depth + 1, `${path}[${i}]`);
			} else {
				throw invalidValue(
					where,
					`data${path}[${i}] is a value where shape [${shape.join(", ")}] needs an array of ${shape[depth + 1]}; expected ${expectedForm(shape)}`,
				);
			}
		}
	};
	walk(data, 0, "");
	return leaves;
}
