import type { Scope } from "../../../lib/accounts/access";
import { NotFoundError } from "../../../lib/errors";
import { importVersion, type VersionImportDeps } from "../../../lib/registry/version-import";
import type { VersionStore } from "../../../lib/registry/version-store";

const SCOPE: Scope = {
	tenantId: "00000000-0000-4000-8000-00000000000b",
	role: "owner",
	keyId: null,
};
const SHA = "c".repeat(64);

describe("importVersion", () => {
	it("asks whether the tenant may use the blob before reading a byte of it", async () => {
		const read: string[] = [];
		const deps: VersionImportDeps = {
			requireArtifact: async sha256 => {
				throw new NotFoundError("artifact", sha256);
			},
			localBlobPath: async sha256 => {
				read.push(sha256);
				return "/nowhere";
			},
			importModelFile: async () => {
				read.push("imported");
				throw new Error("not reached");
			},
		};
		const versions = {
			assertModel: async () => undefined,
			createOrReplay: async () => {
				throw new Error("not reached");
			},
		} as unknown as VersionStore;
		await expect(
			importVersion(deps, versions, SCOPE, "bmodel", { artifact: SHA, version: "1.0.0" }),
		).rejects.toMatchObject({
			code: 404,
			type: "NOT_FOUND",
			data: { kind: "artifact", id: SHA },
		});
		expect(read).toEqual([]);
	});
});
