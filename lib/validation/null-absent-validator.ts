/**
 * The broker's parameter validator: Moleculer's fastest-validator, and then, once a call's
 * params have passed, the optional fields sent as null deleted (lib/validation/null-absent-check.ts),
 * so every action and event handler sees them as left out — the one place the rule "null for
 * an optional field is absent" is kept, instead of each handler testing for null. A field
 * whose rule says `nullable: true` keeps its null (it means something there); a required
 * field sent as null is still refused by the check.
 */
import Validator from "fastest-validator";
import { Validators } from "moleculer";
import { nullAbsentCheck } from "./null-absent-check";

type CheckerFunction = ReturnType<InstanceType<typeof Validators.Fastest>["compile"]>;

export class NullAbsentValidator extends Validators.Fastest {
	/** Reads rules as fastest-validator compiles them; Moleculer's own instance compiles the checks. */
	private readonly rules = new Validator();

	override compile(schema: Record<string, unknown>): CheckerFunction {
		// Moleculer compiles a copy: `schema` is still as the action wrote it.
		return nullAbsentCheck(super.compile(schema), schema, this.rules);
	}
}
