/**
 * Reading a recipe's `params` object: known fields only, each checked, with an error that names
 * the field, what it must be and what it was (lib/errors InvalidInputError, a 400).
 */
import { InvalidInputError } from "../errors";

/** The params object (undefined or null: empty), refusing fields not in `known`. */
export function paramsObject(
	raw: unknown,
	recipe: string,
	known: readonly string[],
): Record<string, unknown> {
	if (raw === undefined || raw === null) return {};
	if (typeof raw !== "object" || Array.isArray(raw))
		throw new InvalidInputError(`params of recipe '${recipe}' must be an object`, {
			field: "params",
		});
	const unknown = Object.keys(raw).filter(key => !known.includes(key));
	if (unknown.length > 0)
		throw new InvalidInputError(
			`params of recipe '${recipe}' has unknown field(s) ${unknown.join(", ")}; known: ${known.join(", ") || "none"}`,
			{ field: `params.${unknown[0]}` },
		);
	return raw as Record<string, unknown>;
}

export function oneOf<T extends string>(
	value: unknown,
	field: string,
	allowed: readonly T[],
	fallback: T,
): T {
	if (value === undefined) return fallback;
	if (typeof value === "string" && (allowed as readonly string[]).includes(value))
		return value as T;
	throw new InvalidInputError(
		`params.${field} must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}`,
		{ field: `params.${field}` },
	);
}

export function booleanParam(value: unknown, field: string, fallback: boolean): boolean {
	if (value === undefined) return fallback;
	if (typeof value === "boolean") return value;
	throw new InvalidInputError(`params.${field} must be true or false`, {
		field: `params.${field}`,
	});
}

export function numberParam(
	value: unknown,
	field: string,
	range: { min: number; max: number; integer?: boolean },
	fallback: number,
): number {
	if (value === undefined) return fallback;
	if (
		typeof value === "number" &&
		Number.isFinite(value) &&
		value >= range.min &&
		value <= range.max &&
		(!range.integer || Number.isInteger(value))
	)
		return value;
	throw new InvalidInputError(
		`params.${field} must be ${range.integer ? "an integer" : "a number"} from ${range.min} to ${range.max}; got ${JSON.stringify(value)}`,
		{ field: `params.${field}` },
	);
}

export function stringList(value: unknown, field: string): string[] {
	if (value === undefined) return [];
	if (Array.isArray(value) && value.every(v => typeof v === "string" && v.length > 0))
		return value as string[];
	throw new InvalidInputError(`params.${field} must be a list of op names`, {
		field: `params.${field}`,
	});
}
