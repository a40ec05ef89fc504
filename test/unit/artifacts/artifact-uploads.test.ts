import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ArtifactStore } from "../../../lib/artifacts/artifact-store";
import { ArtifactUploads, type UploadPart } from "../../../lib/artifacts/artifact-uploads";
import {
	ArtifactCorruptError,
	InvalidInputError,
	NotFoundError,
	PayloadTooLargeError,
	StateConflictError,
} from "../../../lib/errors";
import { deterministicBytes, listFiles, sha256Of } from "../../support/artifact-data";

const ID = "upload-0001";

function part(offset: number, extra: Partial<UploadPart> = {}): UploadPart {
	return { uploadId: ID, offset, final: false, ...extra };
}

describe("ArtifactUploads, multipart", () => {
	let root: string;
	let clock: number;
	let store: ArtifactStore;
	let uploads: ArtifactUploads;
	let bytes: Buffer;

	beforeAll(async () => {
		bytes = await deterministicBytes(30_000);
	});

	beforeEach(async () => {
		root = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifact-uploads-"));
		clock = 1_000_000;
		store = new ArtifactStore({
			root,
			maxBytes: 25_000,
			uploadIdleTimeoutMs: 60_000,
			now: () => clock,
		});
		uploads = new ArtifactUploads(store);
		await store.open();
	});

	afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

	const slice = (from: number, to: number): Readable => Readable.from([bytes.subarray(from, to)]);

	it("assembles parts sent in order and stores the blob on the final call", async () => {
		expect(await uploads.putPart(part(0), slice(0, 8000))).toEqual({
			uploadId: ID,
			received: 8000,
		});
		expect(await uploads.putPart(part(8000), slice(8000, 16_000))).toEqual({
			uploadId: ID,
			received: 16_000,
		});
		expect(uploads.inProgress).toBe(1);
		const stored = await uploads.putPart(part(16_000, { final: true }), slice(16_000, 20_000));
		expect(stored).toEqual({
			sha256: sha256Of(bytes.subarray(0, 20_000)),
			size: 20_000,
			created: true,
		});
		expect(uploads.inProgress).toBe(0);
		expect(listFiles(path.join(root, "tmp"))).toEqual([]);
	});

	it("completes with a final call that has no stream", async () => {
		await uploads.putPart(part(0), slice(0, 100));
		await expect(uploads.putPart(part(100, { final: true }), null)).resolves.toMatchObject({
			sha256: sha256Of(bytes.subarray(0, 100)),
			size: 100,
		});
	});

	it("stores an empty blob from a lone final call", async () => {
		await expect(uploads.putPart(part(0, { final: true }), null)).resolves.toEqual({
			sha256: sha256Of(""),
			size: 0,
			created: true,
		});
	});

	it("refuses a part at the wrong offset with 409 and keeps the upload going", async () => {
		await uploads.putPart(part(0), slice(0, 100));
		const wrong = uploads.putPart(part(50), slice(50, 100));
		await expect(wrong).rejects.toBeInstanceOf(StateConflictError);
		await expect(wrong).rejects.toMatchObject({
			code: 409,
			data: { received: 100, offset: 50 },
		});
		await expect(
			uploads.putPart(part(100, { final: true }), slice(100, 200)),
		).resolves.toMatchObject({ size: 200 });
	});

	it("refuses a second part while one is arriving", async () => {
		await uploads.putPart(part(0), slice(0, 100));
		const slow = new Readable({ read: () => undefined });
		const first = uploads.putPart(part(100), slow);
		await expect(uploads.putPart(part(100), slice(100, 200))).rejects.toBeInstanceOf(
			StateConflictError,
		);
		slow.push(bytes.subarray(100, 200));
		slow.push(null);
		await expect(first).resolves.toEqual({ uploadId: ID, received: 200 });
	});

	it("refuses a second first part of the same upload that arrives meanwhile", async () => {
		const results = await Promise.allSettled([
			uploads.putPart(part(0), slice(0, 100)),
			uploads.putPart(part(0), slice(0, 100)),
		]);
		expect(results.map(r => r.status).sort()).toEqual(["fulfilled", "rejected"]);
		expect(
			(results.find(r => r.status === "rejected") as PromiseRejectedResult).reason,
		).toBeInstanceOf(StateConflictError);
		expect(listFiles(path.join(root, "tmp"))).toHaveLength(1);
	});

	it("answers 404 for a later part of an upload it does not know (expired, or another node)", async () => {
		await expect(uploads.putPart(part(100), slice(100, 200))).rejects.toBeInstanceOf(
			NotFoundError,
		);
	});

	it("refuses a malformed upload id with 400", async () => {
		await expect(
			uploads.putPart({ ...part(0), uploadId: "../../etc" }, slice(0, 10)),
		).rejects.toBeInstanceOf(InvalidInputError);
	});

	it("counts the limit over all parts: the part that passes it ends the upload with 413", async () => {
		await uploads.putPart(part(0), slice(0, 20_000));
		await expect(uploads.putPart(part(20_000), slice(20_000, 30_000))).rejects.toBeInstanceOf(
			PayloadTooLargeError,
		);
		expect(uploads.inProgress).toBe(0);
		expect(listFiles(root)).toEqual([]);
		await expect(uploads.putPart(part(20_000), slice(20_000, 21_000))).rejects.toBeInstanceOf(
			NotFoundError,
		);
	});

	it("checks expectedSha256 given with the first part on the final call", async () => {
		await uploads.putPart(part(0, { expectedSha256: "1".repeat(64) }), slice(0, 100));
		await expect(uploads.putPart(part(100, { final: true }), null)).rejects.toBeInstanceOf(
			ArtifactCorruptError,
		);
		expect(listFiles(root)).toEqual([]);
	});

	it("refuses an expectedSha256 that contradicts an earlier one", async () => {
		await uploads.putPart(part(0, { expectedSha256: "1".repeat(64) }), slice(0, 100));
		await expect(
			uploads.putPart(part(100, { expectedSha256: "2".repeat(64) }), slice(100, 200)),
		).rejects.toBeInstanceOf(InvalidInputError);
	});

	it("refuses a part without a stream unless it is the final call", async () => {
		await expect(uploads.putPart(part(0), null)).rejects.toBeInstanceOf(InvalidInputError);
	});

	it("abandons an upload idle for longer than the timeout and deletes its temp file", async () => {
		await uploads.putPart(part(0), slice(0, 100));
		clock += 60_000;
		expect(await uploads.expireIdle()).toEqual([]);
		clock += 1;
		expect(await uploads.expireIdle()).toEqual([ID]);
		expect(listFiles(root)).toEqual([]);
		await expect(uploads.putPart(part(100), slice(100, 200))).rejects.toBeInstanceOf(
			NotFoundError,
		);
	});

	it("abandons the uploads of a node that left the fleet", async () => {
		await uploads.putPart(part(0, { sender: "worker-1" }), slice(0, 100));
		await uploads.putPart(
			{ ...part(0), uploadId: "upload-0002", sender: "worker-2" },
			slice(0, 100),
		);
		expect(await uploads.abandonFrom("worker-1")).toEqual([ID]);
		expect(uploads.inProgress).toBe(1);
		expect(listFiles(path.join(root, "tmp"))).toHaveLength(1);
	});

	it("abandons idle uploads at shutdown", async () => {
		await uploads.putPart(part(0), slice(0, 100));
		await uploads.abortIdle();
		expect(uploads.inProgress).toBe(0);
		expect(listFiles(root)).toEqual([]);
	});
});
