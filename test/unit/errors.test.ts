import * as fs from "node:fs";
import * as path from "node:path";
import * as errors from "../../lib/errors";

const errorClasses = Object.values(errors).filter(
	value => typeof value === "function" && value.prototype instanceof Error,
);

describe("lib/errors", () => {
	it("gives every error class a distinct type from the catalogue", () => {
		const samples: { type: string; code: number; name: string }[] = [
			new errors.InvalidConfigurationError([{ setting: "PORT", problem: "x" }]),
			new errors.ServiceNotReadyError(["scheduler"]),
		] as never;
		expect(samples).toHaveLength(errorClasses.length);
		const types = samples.map(e => e.type);
		expect(new Set(types).size).toBe(types.length);
		expect(types.sort()).toEqual(Object.keys(errors.ERROR_CATALOGUE).sort());
		for (const error of samples) expect(error.name).toBe(error.constructor.name);
	});

	it("documents every error type in the README", () => {
		const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
		for (const type of Object.keys(errors.ERROR_CATALOGUE))
			expect(readme).toContain(`\`${type}\``);
	});
});
