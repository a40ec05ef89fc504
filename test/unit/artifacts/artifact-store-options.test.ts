import * as path from "node:path";
import {
	DEFAULT_ARTIFACT_STORE_OPTIONS,
	resolveArtifactStoreOptions,
} from "../../../lib/artifacts/artifact-store-options";
import { InvalidConfigurationError } from "../../../lib/errors";

describe("resolveArtifactStoreOptions", () => {
	it("fills in the documented defaults and freezes the result", () => {
		const options = resolveArtifactStoreOptions({ root: "data/artifacts" });
		expect(options).toEqual({
			...DEFAULT_ARTIFACT_STORE_OPTIONS,
			root: path.resolve("data/artifacts"),
		});
		expect(options.maxBytes).toBe(2 * 1024 ** 3);
		expect(options.gcGraceMs).toBe(3600_000);
		expect(Object.isFrozen(options)).toBe(true);
	});

	it("reports every wrong option at once", () => {
		let error: unknown;
		try {
			resolveArtifactStoreOptions({
				root: "",
				maxBytes: 0,
				gcGraceMs: -1,
				uploadIdleTimeoutMs: 0,
				stallTimeoutMs: Number.NaN,
			});
		} catch (err) {
			error = err;
		}
		expect(error).toBeInstanceOf(InvalidConfigurationError);
		expect(
			(error as InvalidConfigurationError).data.problems.map(
				(p: { setting: string }) => p.setting,
			),
		).toEqual([
			"artifacts.root",
			"artifacts.maxBytes",
			"artifacts.gcGraceMs",
			"artifacts.stallTimeoutMs",
			"artifacts.uploadIdleTimeoutMs",
		]);
	});
});
