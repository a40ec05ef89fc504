import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { ArtifactStore } from "../../../lib/artifacts/artifact-store";
import { ArtifactUploads } from "../../../lib/artifacts/artifact-uploads";
import { statBlobFile } from "../../../lib/artifacts/blob-file";
import { MasterKey } from "../../../lib/artifacts/encryption/master-key";
import { ArtifactUnreadableError } from "../../../lib/errors";
import { listFiles, sha256Of } from "../../support/artifact-data";

const MARKER = "MARKER_PLAINTEXT_7f3a";

/** 200 KB of CSV-like text, the marker on every row: plenty to find in any plain copy. */
function markedBytes(): Buffer {
	const rows = ["id,MARKER_PLAINTEXT_7f3a,value"];
	for (let i = 0; rows.join("\n").length < 200_000; i++)
		rows.push(`${i},${MARKER}-${i},${i * 3}`);
	return Buffer.from(rows.join("\n"));
}

describe("ArtifactStore with a master key", () => {
	let root: string;
	const key = MasterKey.generate();
	let store: ArtifactStore;
	let uploads: ArtifactUploads;
	const bytes = markedBytes();

	beforeEach(async () => {
		root = fs.mkdtempSync(path.join(os.tmpdir(), "mf-store-sealed-"));
		store = new ArtifactStore({ root, encryptionKey: key });
		uploads = new ArtifactUploads(store);
		await store.open();
	});
	afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

	/** Parts of uneven sizes, none on a segment boundary. */
	async function putInParts(): Promise<string> {
		const cuts = [0, 70_001, 140_003, bytes.length];
		for (let i = 0; i < cuts.length - 1; i++) {
			await uploads.putPart(
				{ uploadId: "sealed-upload-1", offset: cuts[i], final: false },
				Readable.from([bytes.subarray(cuts[i], cuts[i + 1])]),
			);
		}
		const stored = await uploads.putPart(
			{ uploadId: "sealed-upload-1", offset: bytes.length, final: true },
			null,
		);
		return (stored as { sha256: string }).sha256;
	}

	it("names the blob by the plaintext's sha256 and keeps no plaintext on disk", async () => {
		const sha256 = await putInParts();
		expect(sha256).toBe(sha256Of(bytes));
		for (const file of listFiles(root)) {
			expect(fs.readFileSync(path.join(root, file)).includes(MARKER)).toBe(false);
		}
		expect(await statBlobFile(store.layout.blobPath(sha256))).toMatchObject({
			keyId: key.id,
			size: bytes.length,
		});
	});

	it("reads back the plaintext, whole and by range, with the plaintext's size", async () => {
		const sha256 = await putInParts();
		expect((await store.stat(sha256)).size).toBe(bytes.length);
		expect(await buffer(await store.read(sha256))).toEqual(bytes);
		expect(await buffer(await store.read(sha256, { offset: 65_530, length: 70_000 }))).toEqual(
			bytes.subarray(65_530, 135_530),
		);
		expect(
			await buffer(await store.read(sha256, { offset: bytes.length - 3, length: 100 })),
		).toEqual(bytes.subarray(bytes.length - 3));
		expect((await store.list()).map(b => b.size)).toEqual([bytes.length]);
	});

	it("seals one-shot puts too, and still reads blobs stored plain before the key", async () => {
		const plainStore = new ArtifactStore({ root });
		const old = await new ArtifactUploads(plainStore).put(Readable.from([Buffer.from("old")]));
		const fresh = await uploads.put(Readable.from([bytes]));
		expect((await statBlobFile(store.layout.blobPath(fresh.sha256))).keyId).toBe(key.id);
		expect((await statBlobFile(store.layout.blobPath(old.sha256))).keyId).toBeNull();
		expect((await buffer(await store.read(old.sha256))).toString()).toBe("old");
		expect(await buffer(await store.read(fresh.sha256))).toEqual(bytes);
	});

	it("answers ARTIFACT_UNREADABLE to a node without the key or with another", async () => {
		const sha256 = await putInParts();
		for (const other of [null, MasterKey.generate()]) {
			const wrong = new ArtifactStore({ root, encryptionKey: other });
			await expect(wrong.read(sha256)).rejects.toThrow(ArtifactUnreadableError);
		}
	});
});
