import { nextVersion, parseVersion } from "../../../lib/registry/version-number";
import { parseVersionRef } from "../../../lib/registry/version-ref";

describe("version numbers", () => {
	it.each([
		[[], "patch", "0.1.0"],
		[[], "minor", "0.1.0"],
		[[], "major", "1.0.0"],
		[["1.0.0", "1.2.0", "1.10.0"], "patch", "1.10.1"],
		[["1.0.0", "1.2.0", "1.10.0"], "minor", "1.11.0"],
		[["1.9.9", "0.1.0"], "major", "2.0.0"],
		[["1.0.0", "2.0.0-rc.1"], "patch", "2.0.0"],
	] as const)("after %j, %s gives %s", (existing, bump, next) => {
		expect(nextVersion(existing, bump)).toBe(next);
	});

	it("accepts exact semantic versions only", () => {
		expect(parseVersion("1.2.3-rc.1")).toBe("1.2.3-rc.1");
		for (const bad of ["v1.2.3", "1.2", "1", "latest", " 1.2.3"]) {
			expect(() => parseVersion(bad)).toThrow(
				expect.objectContaining({ code: 400, type: "INVALID_INPUT" }),
			);
		}
	});
});

describe("parseVersionRef", () => {
	it.each([
		[["iris"], { model: "iris", selector: { kind: "latest" } }],
		[["iris@champion"], { model: "iris", selector: { kind: "alias", alias: "champion" } }],
		[["iris@1.2.0"], { model: "iris", selector: { kind: "version", version: "1.2.0" } }],
		[["iris", "2.0.0"], { model: "iris", selector: { kind: "version", version: "2.0.0" } }],
		[
			["iris@champion", "1.0.0"],
			{ model: "iris", selector: { kind: "version", version: "1.0.0" } },
		],
		[["iris@latest"], { model: "iris", selector: { kind: "latest" } }],
	] as const)("reads %j", (args, ref) => {
		expect(parseVersionRef(args[0], args[1])).toEqual(ref);
	});
});
