import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { ArtifactStore } from "../../../../lib/artifacts/artifact-store";
import { ArtifactUploads } from "../../../../lib/artifacts/artifact-uploads";
import { statBlobFile } from "../../../../lib/artifacts/blob-file";
import { recordedKeyId } from "../../../../lib/artifacts/encryption/key-check";
import { listBlobFiles, rotateBlobKeys } from "../../../../lib/artifacts/encryption/key-rotation";
import { MasterKey } from "../../../../lib/artifacts/encryption/master-key";
import { HEADER_BYTES } from "../../../../lib/artifacts/encryption/sealed-format";
import { deterministicBytes } from "../../../support/artifact-data";

describe("rotateBlobKeys", () => {
	let dataDir: string;
	const oldKey = MasterKey.generate();
	const newKey = MasterKey.generate();
	const contents: Buffer[] = [];

	beforeAll(async () => {
		contents.push(await deterministicBytes(300_000, 1), await deterministicBytes(10, 2));
	});

	beforeEach(async () => {
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-rotate-"));
	});
	afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

	async function put(key: MasterKey | null, bytes: Buffer): Promise<string> {
		const store = new ArtifactStore({
			root: path.join(dataDir, "artifacts"),
			encryptionKey: key,
		});
		await store.open();
		return (await new ArtifactUploads(store).put(Readable.from([bytes]))).sha256;
	}

	const read = async (key: MasterKey, sha256: string) =>
		buffer(
			await new ArtifactStore({
				root: path.join(dataDir, "artifacts"),
				encryptionKey: key,
			}).read(sha256),
		);

	it("re-wraps every data key, leaves the segments as they were, and seals plain blobs", async () => {
		const sealed = await put(oldKey, contents[0]);
		const plain = await put(null, contents[1]);
		const file = path.join(dataDir, "artifacts", "sha256", sealed.slice(0, 2), sealed);
		const before = fs.readFileSync(file);
		const mtime = fs.statSync(file).mtimeMs;

		const report = await rotateBlobKeys(dataDir, oldKey, newKey);
		expect(report).toEqual({ rewrapped: 1, sealed: 1, alreadyDone: 0, failed: [] });
		for (const blob of await listBlobFiles(dataDir)) {
			expect((await statBlobFile(blob)).keyId).toBe(newKey.id);
		}
		const after = fs.readFileSync(file);
		expect(after.subarray(HEADER_BYTES)).toEqual(before.subarray(HEADER_BYTES));
		expect(after.subarray(0, HEADER_BYTES)).not.toEqual(before.subarray(0, HEADER_BYTES));
		expect(fs.statSync(file).mtimeMs).toBe(mtime);
		expect(await read(newKey, sealed)).toEqual(contents[0]);
		expect(await read(newKey, plain)).toEqual(contents[1]);
		await expect(read(oldKey, sealed)).rejects.toThrow(/master key id/);
		expect(recordedKeyId(dataDir)).toBe(newKey.id);
		expect(fs.readdirSync(path.join(dataDir, "artifacts", "tmp"))).toEqual([]);
	});

	it("finishes a cut-off run when run again, and reports blobs under a third key", async () => {
		await put(oldKey, contents[0]);
		await rotateBlobKeys(dataDir, oldKey, newKey);
		const third = await put(MasterKey.generate(), contents[1]);
		const again = await rotateBlobKeys(dataDir, oldKey, newKey);
		expect(again.alreadyDone).toBe(1);
		expect(again.failed).toEqual([
			expect.objectContaining({ file: expect.stringContaining(third) }),
		]);
	});
});
