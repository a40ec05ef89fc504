import {
	optionalNullStripper,
	type RuleObject,
} from "../../../lib/validation/optional-null-stripper";

/** `params` after the stripper of `schema` ran over it (a copy: the case tables stay as written). */
function stripped(schema: RuleObject, params: Record<string, unknown>): unknown {
	const copy = structuredClone(params);
	optionalNullStripper(schema)?.(copy);
	return copy;
}

describe("optionalNullStripper", () => {
	it("deletes a null optional field and keeps the others", () => {
		const schema = {
			a: { type: "string", optional: true },
			b: { type: "string", optional: true },
			c: { type: "number", optional: true },
		};
		expect(stripped(schema, { a: null, b: "x", c: 0 })).toEqual({ b: "x", c: 0 });
		expect(Object.hasOwn(stripped(schema, { a: null }) as object, "a")).toBe(false);
	});

	it("keeps null where the rule is nullable: null means something there", () => {
		const schema = {
			shadow: { type: "string", optional: true, nullable: true },
			autoscaling: { type: "object", optional: true, nullable: true, props: {} },
		};
		expect(stripped(schema, { shadow: null, autoscaling: null })).toEqual({
			shadow: null,
			autoscaling: null,
		});
	});

	it("leaves a required field's null alone (the check has refused it already)", () => {
		expect(stripped({ model: { type: "string" } }, { model: null })).toEqual({ model: null });
	});

	it("recurses into nested objects, and deletes a null optional object itself", () => {
		const schema = {
			resources: {
				type: "object",
				optional: true,
				props: {
					cpu: { type: "number", optional: true },
					limits: {
						type: "object",
						optional: true,
						props: { memory: { type: "string", optional: true } },
					},
				},
			},
		};
		expect(
			stripped(schema, { resources: { cpu: null, limits: { memory: null }, gpus: null } }),
		).toEqual({ resources: { limits: {}, gpus: null } });
		expect(stripped(schema, { resources: null })).toEqual({});
	});

	it("reads `properties` as fastest-validator does, besides `props`", () => {
		const schema = {
			o: { type: "object", properties: { x: { type: "number", optional: true } } },
		};
		expect(stripped(schema, { o: { x: null } })).toEqual({ o: {} });
	});

	it("recurses into the objects of an array, leaving null elements where they are", () => {
		const schema = {
			traffic: {
				type: "array",
				optional: true,
				items: {
					type: "object",
					props: {
						version: { type: "string" },
						weight: { type: "number", optional: true },
					},
				},
			},
			matrix: {
				type: "array",
				items: {
					type: "array",
					items: { type: "object", props: { v: { type: "any", optional: true } } },
				},
			},
		};
		expect(
			stripped(schema, {
				traffic: [{ version: "1", weight: null }, null, { version: "2", weight: 5 }],
				matrix: [[{ v: null }, { v: 1 }]],
			}),
		).toEqual({
			traffic: [{ version: "1" }, null, { version: "2", weight: 5 }],
			matrix: [[{}, { v: 1 }]],
		});
	});

	it("deletes a record's null values when its value rule is optional and not nullable", () => {
		const optional = { tags: { type: "record", value: { type: "string", optional: true } } };
		const nullable = {
			tags: { type: "record", value: { type: "string", optional: true, nullable: true } },
		};
		expect(stripped(optional, { tags: { a: null, b: "x" } })).toEqual({ tags: { b: "x" } });
		expect(stripped(nullable, { tags: { a: null, b: "x" } })).toEqual({
			tags: { a: null, b: "x" },
		});
	});

	it("reads a `$$root` schema as the rule of the whole params, and skips the schema's own options", () => {
		const root = {
			$$root: true,
			type: "object",
			props: { id: { type: "string", optional: true } },
		};
		expect(stripped(root, { id: null, x: 1 })).toEqual({ x: 1 });
		const strict = { $$strict: "remove", a: { type: "number", optional: true } };
		expect(stripped(strict, { a: null })).toEqual({});
	});

	it("walks into the one alternative of a list that can have taken the value", () => {
		const background = {
			type: "multi",
			optional: true,
			rules: [
				{
					type: "array",
					items: { type: "object", props: { v: { type: "any", optional: true } } },
				},
				{ type: "object", props: { seed: { type: "number", optional: true } } },
				{ type: "string" },
			],
		};
		expect(stripped({ background }, { background: { seed: null } })).toEqual({
			background: {},
		});
		expect(stripped({ background }, { background: [{ v: null }, [1]] })).toEqual({
			background: [{}, [1]],
		});
		expect(stripped({ background }, { background: null })).toEqual({});
	});

	it("does not walk into a list where two alternatives could have taken the value", () => {
		const schema = {
			spec: {
				type: "multi",
				rules: [
					{ type: "object", props: { seed: { type: "number", optional: true } } },
					{ type: "any" },
				],
			},
		};
		expect(stripped(schema, { spec: { seed: null } })).toEqual({ spec: { seed: null } });
	});

	it("makes no stripper for a schema with nothing optional, and visits no plain data", () => {
		expect(optionalNullStripper({ model: { type: "string" } })).toBeNull();
		expect(
			optionalNullStripper({
				data: { type: "array", items: { type: "number", optional: true } },
				inner: { type: "object", props: { n: { type: "number" } } },
			}),
		).toBeNull();
	});

	it("ignores values of the wrong kind (the check refused them) and absent keys", () => {
		const strip = optionalNullStripper({
			o: { type: "object", props: { x: { type: "number", optional: true } } },
			list: {
				type: "array",
				items: { type: "object", props: { y: { type: "any", optional: true } } },
			},
		});
		const params: Record<string, unknown> = { o: "text", list: { y: null } };
		strip?.(params);
		expect(params).toEqual({ o: "text", list: { y: null } });
	});
});
