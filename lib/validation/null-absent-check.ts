/**
 * A fastest-validator check that keeps the project's rule for JSON null: once a value has
 * passed, its optional fields sent as null are deleted (lib/validation/optional-null-stripper.ts),
 * so what reads it next sees them as left out. The broker's validator wraps every action's and
 * event's check so (lib/validation/null-absent-validator.ts); the specs that compile checks of
 * their own (training jobs, studies) compile them here.
 */
import type Validator from "fastest-validator";
import { optionalNullStripper, type NullStripper, type RuleObject } from "./optional-null-stripper";

/** A compiled check as fastest-validator and Moleculer make them: sync, or async when it says so. */
export type Check = ((value: Record<string, unknown>, ...rest: never[]) => unknown) & {
	async?: boolean;
};

/**
 * A deep copy of a schema's objects and arrays (functions, patterns and classes shared):
 * fastest-validator rewrites rules as it reads them (`$$type`, a type's defaults, and `compile`
 * drops `$$` options), and the schema is read again elsewhere (the OpenAPI document).
 */
function copyRules(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(copyRules);
	if (typeof value !== "object" || value === null) return value;
	const prototype: unknown = Object.getPrototypeOf(value);
	if (prototype !== Object.prototype && prototype !== null) return value;
	return Object.fromEntries(
		Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, copyRules(v)]),
	);
}

/** `schema`'s stripper, its rules read as `validator` reads them to compile them. */
function stripperOf(schema: Record<string, unknown>, validator: Validator): NullStripper | null {
	return optionalNullStripper(copyRules(schema) as RuleObject, rule =>
		typeof rule === "string" || (typeof rule === "object" && rule !== null)
			? (validator.getRuleFromSchema(rule as Record<string, unknown>).schema as RuleObject)
			: null,
	);
}

/** `check`, followed, when a value passes, by `strip` over it. */
function thenStrip<C extends Check>(check: C, strip: NullStripper | null): C {
	if (strip === null) return check;
	const checkAndStrip = (value: Record<string, unknown>, ...rest: never[]): unknown => {
		const result = check(value, ...rest);
		if (result === true) strip(value);
		else if (result instanceof Promise)
			return result.then((passed: unknown) => {
				if (passed === true) strip(value);
				return passed;
			});
		return result;
	};
	return Object.assign(checkAndStrip, { async: check.async }) as unknown as C;
}

/**
 * `check`, compiled from `schema` by someone else, followed, when a value passes, by the
 * deletion of its optional nulls. `schema` must be as written (Moleculer compiles a copy).
 */
export function nullAbsentCheck<C extends Check>(
	check: C,
	schema: Record<string, unknown>,
	validator: Validator,
): C {
	return thenStrip(check, stripperOf(schema, validator));
}

/** `validator.compile(schema)`, whose check deletes a passing value's optional nulls. */
export function compileNullAbsent(
	validator: Validator,
	schema: Record<string, unknown>,
): ReturnType<Validator["compile"]> {
	// Read before `compile`, which drops the schema's `$$` options.
	const strip = stripperOf(schema, validator);
	return thenStrip(validator.compile(schema), strip);
}
