import { ArtifactAccess } from "../../../lib/artifacts/artifact-access";
import type { ArtifactOwners } from "../../../lib/artifacts/artifact-owners";
import { NotFoundError } from "../../../lib/errors";

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";
const SHA = "a".repeat(64);

/** Ownership records in memory, as the database keeps them. */
class MemoryOwners implements ArtifactOwners {
	readonly rows = new Set<string>();
	async claim(tenantId: string, sha256: string): Promise<boolean> {
		const key = `${tenantId}/${sha256}`;
		const fresh = !this.rows.has(key);
		this.rows.add(key);
		return fresh;
	}
	async owns(tenantId: string, sha256: string): Promise<boolean> {
		return this.rows.has(`${tenantId}/${sha256}`);
	}
	async forget(sha256: string): Promise<void> {
		for (const key of this.rows) if (key.endsWith(`/${sha256}`)) this.rows.delete(key);
	}
}

async function refusal(promise: Promise<unknown>): Promise<unknown> {
	return promise.then(
		() => "passed",
		(err: NotFoundError) => ({ type: err.type, code: err.code, message: err.message }),
	);
}

describe("ArtifactAccess", () => {
	let owners: MemoryOwners;
	let access: ArtifactAccess;

	beforeEach(() => {
		owners = new MemoryOwners();
		access = new ArtifactAccess(owners);
	});

	it("lets a tenant name the blobs it stored, and answers another tenant's as an unknown hash", async () => {
		await access.stored(A, { sha256: SHA, size: 3, created: true });
		await expect(access.require(A, SHA)).resolves.toBeUndefined();
		const foreign = await refusal(access.require(B, SHA));
		const unknown = await refusal(access.require(B, "b".repeat(64)));
		expect(foreign).toEqual({
			type: "NOT_FOUND",
			code: 404,
			message: `artifact '${SHA}' not found.`,
		});
		expect(JSON.stringify(unknown).replace("b".repeat(64), SHA)).toBe(JSON.stringify(foreign));
	});

	it("answers created as the storing tenant sees it, whatever the store already held", async () => {
		const stored = { sha256: SHA, size: 3, created: false };
		expect(await access.stored(A, { ...stored, created: true })).toEqual({
			...stored,
			created: true,
		});
		// B stores the same bytes: deduplicated in the store, new to B.
		expect(await access.stored(B, stored)).toEqual({ ...stored, created: true });
		expect(await access.stored(B, stored)).toEqual({ ...stored, created: false });
	});

	it("leaves the fleet's own calls (no tenant) and stores without records unscoped", async () => {
		await expect(access.require(undefined, SHA)).resolves.toBeUndefined();
		const stored = { sha256: SHA, size: 3, created: false };
		expect(await access.stored(undefined, stored)).toBe(stored);
		expect(owners.rows.size).toBe(0);
		const bare = new ArtifactAccess(null);
		await expect(bare.require(B, SHA)).resolves.toBeUndefined();
		expect(await bare.stored(B, stored)).toBe(stored);
	});

	it("forgets every holder of a blob garbage collection deletes", async () => {
		await access.stored(A, { sha256: SHA, size: 3, created: true });
		await access.stored(B, { sha256: SHA, size: 3, created: false });
		await access.forget(SHA);
		await expect(access.require(A, SHA)).rejects.toBeInstanceOf(NotFoundError);
		await expect(access.require(B, SHA)).rejects.toBeInstanceOf(NotFoundError);
	});
});
