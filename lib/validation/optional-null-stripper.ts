/**
 * The project's rule for JSON null: an optional parameter sent as null is the same as one left
 * out. fastest-validator lets null through for an `optional` rule (it has no notion of
 * "absent" apart from `undefined`), and handlers test `!== undefined` or spread their params,
 * so null would reach code that expects a value or nothing. After a successful validation the
 * stripper deletes each key whose value is null and whose rule is optional and not
 * `nullable: true` (a rule that gives null a meaning of its own, such as "turn it off"), in
 * nested objects, in the objects of arrays, in the values of records and in the one
 * alternative of a list that can have taken the value, as the rules describe them.
 *
 * Rules are read through `resolve`, which gives a rule's object form (a shorthand string
 * expanded, a list of alternatives as `multi`): lib/validation/null-absent-check.ts hands in
 * fastest-validator's own, and runs the stripper after a check has passed. The rules are
 * walked once, when the stripper is made: a schema with nothing to strip gets none, and values
 * are only visited where a rule below them could strip something (never the numbers of a
 * tensor's data).
 */

/** One rule in its object form (`{ type: "string", optional: true }`). */
export type RuleObject = Readonly<Record<string, unknown>>;

/** A rule as written in a schema, in its object form; null for what is no rule. */
export type RuleResolver = (rule: unknown) => RuleObject | null;

/** Deletes, in place, the null values a schema treats as absent from a validated value. */
export type NullStripper = (value: Record<string, unknown>) => void;

type Visit = (value: unknown) => void;

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The resolver for rules written as objects only. */
function objectRule(rule: unknown): RuleObject | null {
	return isObject(rule) ? rule : null;
}

/** Whether a null for this rule means "left out". */
function nullIsAbsent(rule: RuleObject): boolean {
	return rule.optional === true && rule.nullable !== true;
}

/** The visit of an object's named properties, or null when none of them can strip anything. */
function propsVisit(
	props: Readonly<Record<string, unknown>>,
	resolve: RuleResolver,
): NullStripper | null {
	const steps: { key: string; drop: boolean; inner: Visit | null }[] = [];
	for (const [key, written] of Object.entries(props)) {
		// `$$strict`, `$$async`, `$$root`: options of the schema, not properties.
		if (key.startsWith("$$")) continue;
		const rule = resolve(written);
		if (rule === null) continue;
		const drop = nullIsAbsent(rule);
		const inner = ruleVisit(rule, resolve);
		if (drop || inner !== null) steps.push({ key, drop, inner });
	}
	if (steps.length === 0) return null;
	return object => {
		for (const { key, drop, inner } of steps) {
			if (!Object.hasOwn(object, key)) continue;
			const value = object[key];
			if (value === null) {
				if (drop) delete object[key];
			} else if (inner !== null) inner(value);
		}
	};
}

/** The visit of a value under `rule`, or null when nothing below it can be stripped. */
function ruleVisit(rule: RuleObject, resolve: RuleResolver): Visit | null {
	switch (rule.type) {
		case "object": {
			const props = rule.props ?? rule.properties;
			const visit = isObject(props) ? propsVisit(props, resolve) : null;
			return visit === null
				? null
				: value => {
						if (isObject(value)) visit(value);
					};
		}
		case "array": {
			// Elements stay where they are: a null element is a value at a position, not a key left out.
			const items = resolve(rule.items);
			const visit = items !== null ? ruleVisit(items, resolve) : null;
			return visit === null
				? null
				: value => {
						if (!Array.isArray(value)) return;
						for (const item of value) if (item !== null) visit(item);
					};
		}
		case "record": {
			const valueRule = resolve(rule.value);
			if (valueRule === null) return null;
			const drop = nullIsAbsent(valueRule);
			const inner = ruleVisit(valueRule, resolve);
			if (!drop && inner === null) return null;
			return value => {
				if (!isObject(value)) return;
				for (const key of Object.keys(value)) {
					if (value[key] === null) {
						if (drop) delete value[key];
					} else inner?.(value[key]);
				}
			};
		}
		case "multi":
			return multiVisit(rule, resolve);
		default:
			return null;
	}
}

/** Rule types that refuse every array and every object a JSON body can hold. */
const SCALAR_TYPES = [
	"string",
	"number",
	"boolean",
	"enum",
	"equal",
	"email",
	"url",
	"uuid",
	"mac",
	"luhn",
	"currency",
	"forbidden",
];
/** Rule types that refuse every array: a scalar's, an object's, a record's. */
const NEVER_ARRAY = new Set([...SCALAR_TYPES, "object", "record"]);
/** Rule types that refuse every object that is not an array. */
const NEVER_OBJECT = new Set([...SCALAR_TYPES, "array", "tuple"]);

/**
 * A list of alternatives is walked into only where one alternative alone can have taken the
 * value: the only one that takes objects, for an object, or arrays, for an array (explain's
 * `background`: rows, or `{dataset, rows?, seed?}`). Where two could have, which matched is not
 * known, and nothing below is stripped.
 */
function multiVisit(rule: RuleObject, resolve: RuleResolver): Visit | null {
	const alternatives = (Array.isArray(rule.rules) ? rule.rules : [])
		.map(resolve)
		.filter((r): r is RuleObject => r !== null);
	const only = (refuses: ReadonlySet<string>): Visit | null => {
		const takers = alternatives.filter(r => !refuses.has(String(r.type)));
		return takers.length === 1 ? ruleVisit(takers[0], resolve) : null;
	};
	const forObject = only(NEVER_OBJECT);
	const forArray = only(NEVER_ARRAY);
	if (forObject === null && forArray === null) return null;
	return value => {
		if (Array.isArray(value)) forArray?.(value);
		else forObject?.(value);
	};
}

/**
 * The stripper of an action's (or event's) `params` schema: an object of property rules, or
 * one rule for the whole params with `$$root: true`. Null when the schema has no optional
 * non-nullable rule anywhere, so nothing need run after the check. `resolve` gives each rule's
 * object form; the default takes rules written as objects and skips any other.
 */
export function optionalNullStripper(
	schema: RuleObject,
	resolve: RuleResolver = objectRule,
): NullStripper | null {
	if (schema.$$root !== true) return propsVisit(schema, resolve);
	const root = resolve(schema);
	return root !== null ? ruleVisit(root, resolve) : null;
}
