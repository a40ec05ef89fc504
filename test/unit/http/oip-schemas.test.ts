/** The OpenAPI document's Open Inference Protocol schemas are the spec's, renamed. */
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { OIP_SCHEMAS, OIP_SPEC_NAMES } from "../../../lib/http/openapi/oip-schemas";

const SPEC = path.join(
	__dirname,
	"..",
	"..",
	"fixtures",
	"open-inference",
	"open_inference_rest.yaml",
);

type Schema = Record<string, unknown>;

/** A schema without what we drop (title, x-examples, examples, description), refs renamed. */
function comparable(schema: unknown, rename: (ref: string) => string): unknown {
	if (Array.isArray(schema)) return schema.map(s => comparable(s, rename));
	if (typeof schema !== "object" || schema === null) return schema;
	const out: Schema = {};
	for (const [key, value] of Object.entries(schema)) {
		if (["title", "x-examples", "examples", "description"].includes(key)) continue;
		out[key] = key === "$ref" ? rename(String(value)) : comparable(value, rename);
	}
	return out;
}

describe("OIP_SCHEMAS", () => {
	const spec = yaml.load(fs.readFileSync(SPEC, "utf8")) as {
		components: { schemas: Record<string, Schema> };
	};
	const ours = new Map(Object.entries(OIP_SPEC_NAMES).map(([mine, theirs]) => [theirs, mine]));
	const rename = (ref: string): string =>
		`#/components/schemas/${ours.get(ref.split("/").pop()!) ?? "?"}`;

	it.each(Object.entries(OIP_SPEC_NAMES))("%s is the spec's %s", (mine, theirs) => {
		expect(comparable(OIP_SCHEMAS[mine], r => r)).toEqual(
			comparable(spec.components.schemas[theirs], rename),
		);
	});
});
