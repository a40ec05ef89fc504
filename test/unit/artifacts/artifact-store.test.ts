import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ArtifactStore } from "../../../lib/artifacts/artifact-store";
import { ArtifactUploads } from "../../../lib/artifacts/artifact-uploads";
import {
	ArtifactCorruptError,
	InvalidInputError,
	NotFoundError,
	PayloadTooLargeError,
} from "../../../lib/errors";
import {
	collect,
	deterministicBytes,
	deterministicStream,
	listFiles,
	sha256Of,
} from "../../support/artifact-data";

const HOUR = 3600_000;
const EMPTY_SHA256 = sha256Of("");

describe("ArtifactStore", () => {
	let root: string;
	let clock: number;
	let store: ArtifactStore;
	let uploads: ArtifactUploads;

	function open(maxBytes = 1024 * 1024): Promise<unknown> {
		store = new ArtifactStore({ root, maxBytes, gcGraceMs: HOUR, now: () => clock });
		uploads = new ArtifactUploads(store);
		return store.open();
	}

	beforeEach(async () => {
		root = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifact-store-"));
		clock = Date.UTC(2026, 10, 27);
		await open();
	});

	afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

	it("stores a stream under sha256/<first two hex digits>/<hash> and answers its hash and size", async () => {
		const bytes = await deterministicBytes(300_000);
		const stored = await uploads.put(Readable.from([bytes]));
		const sha256 = sha256Of(bytes);
		expect(stored).toEqual({ sha256, size: 300_000, created: true });
		expect(listFiles(root)).toEqual([`sha256/${sha256.slice(0, 2)}/${sha256}`]);
		const onDisk = fs.readFileSync(path.join(root, "sha256", sha256.slice(0, 2), sha256));
		expect(onDisk.equals(bytes)).toBe(true);
	});

	it("stores identical content once and answers created: false the second time", async () => {
		const first = await uploads.put(deterministicStream(50_000, 7));
		clock += HOUR;
		const second = await uploads.put(deterministicStream(50_000, 7, 1000));
		expect(second).toEqual({ ...first, created: false });
		expect(listFiles(root)).toHaveLength(1);
		// A put of existing content restarts its grace period.
		expect((await store.stat(first.sha256)).lastStoredAtMs).toBe(clock);
	});

	it("stores an empty stream as the empty blob", async () => {
		expect(await uploads.put(Readable.from([]))).toEqual({
			sha256: EMPTY_SHA256,
			size: 0,
			created: true,
		});
		expect(await collect(await store.read(EMPTY_SHA256))).toEqual(Buffer.alloc(0));
	});

	it("accepts a blob of exactly the limit", async () => {
		await open(1000);
		await expect(uploads.put(deterministicStream(1000))).resolves.toMatchObject({
			size: 1000,
		});
	});

	it("refuses a stream over the limit with 413 while it streams, and keeps nothing", async () => {
		await open(100_000);
		let produced = 0;
		const endless = new Readable({
			read() {
				produced += 10_000;
				this.push(Buffer.alloc(10_000, 1));
			},
		});
		const put = uploads.put(endless);
		await expect(put).rejects.toBeInstanceOf(PayloadTooLargeError);
		await expect(put).rejects.toMatchObject({ code: 413, data: { limitBytes: 100_000 } });
		expect(produced).toBeLessThan(200_000);
		expect(listFiles(root)).toEqual([]);
	});

	it("keeps nothing when the bytes do not hash to expectedSha256", async () => {
		const put = uploads.put(deterministicStream(10_000), { expectedSha256: "0".repeat(64) });
		await expect(put).rejects.toBeInstanceOf(ArtifactCorruptError);
		await expect(put).rejects.toMatchObject({
			code: 500,
			retryable: true,
			data: { expected: "0".repeat(64), actual: sha256Of(await deterministicBytes(10_000)) },
		});
		expect(listFiles(root)).toEqual([]);
	});

	it("stores the blob when expectedSha256 matches, in any case and with a sha256: prefix", async () => {
		const sha256 = sha256Of(await deterministicBytes(10_000));
		await expect(
			uploads.put(deterministicStream(10_000), {
				expectedSha256: `sha256:${sha256.toUpperCase()}`,
			}),
		).resolves.toEqual({ sha256, size: 10_000, created: true });
	});

	it("refuses an expectedSha256 that is not a hash with 400", async () => {
		await expect(
			uploads.put(deterministicStream(10), { expectedSha256: "abc" }),
		).rejects.toBeInstanceOf(InvalidInputError);
		expect(listFiles(root)).toEqual([]);
	});

	it("deletes the temp file when the source fails midway", async () => {
		const failing = new Readable({
			read() {
				this.push(Buffer.alloc(10_000));
				this.destroy(new Error("sender went away"));
			},
		});
		await expect(uploads.put(failing)).rejects.toThrow("sender went away");
		expect(listFiles(root)).toEqual([]);
	});

	it("fails a source that sends nothing for the stall timeout, and keeps nothing", async () => {
		store = new ArtifactStore({ root, stallTimeoutMs: 100 });
		uploads = new ArtifactUploads(store);
		const silent = new Readable({ read: () => undefined });
		await expect(uploads.put(silent)).rejects.toMatchObject({ code: 504 });
		expect(listFiles(root)).toEqual([]);
	});

	it("deletes temp files left by a killed process when it opens", async () => {
		fs.writeFileSync(path.join(root, "tmp", "cut-off.part"), "half an upload");
		fs.mkdirSync(path.join(root, "tmp", "odd-dir"));
		const kept = await uploads.put(deterministicStream(10));
		await expect(open()).resolves.toEqual({ removedTempFiles: 2 });
		expect(listFiles(root)).toEqual([`sha256/${kept.sha256.slice(0, 2)}/${kept.sha256}`]);
	});

	it("answers stat with size and times, and 404 for an unknown hash", async () => {
		const { sha256 } = await uploads.put(deterministicStream(1234));
		expect(await store.stat(sha256)).toMatchObject({
			sha256,
			size: 1234,
			lastStoredAtMs: clock,
		});
		const missing = store.stat("f".repeat(64));
		await expect(missing).rejects.toBeInstanceOf(NotFoundError);
		await expect(missing).rejects.toMatchObject({
			code: 404,
			data: { kind: "artifact", id: "f".repeat(64) },
		});
	});

	it("reads a blob whole or by range, and 404 for an unknown hash", async () => {
		const bytes = await deterministicBytes(1_000_000);
		const { sha256 } = await uploads.put(Readable.from([bytes]));
		// Buffers compared by hash: jest's deep equality walks them byte by byte.
		const read = async (range?: { offset?: number; length?: number }): Promise<string> =>
			sha256Of(await collect(await store.read(sha256, range)));
		expect(await read()).toBe(sha256);
		expect(await read({ offset: 999_000 })).toBe(sha256Of(bytes.subarray(999_000)));
		expect(await read({ offset: 10, length: 300_000 })).toBe(
			sha256Of(bytes.subarray(10, 300_010)),
		);
		expect(await read({ offset: 1_000_000 })).toBe(EMPTY_SHA256);
		expect(await read({ offset: 5, length: 0 })).toBe(EMPTY_SHA256);
		await expect(store.read(sha256, { offset: 1_000_001 })).rejects.toBeInstanceOf(
			InvalidInputError,
		);
		await expect(store.read("e".repeat(64))).rejects.toBeInstanceOf(NotFoundError);
	});

	it("reads in chunks no bigger than the transporter's 256 KiB", async () => {
		const { sha256 } = await uploads.put(deterministicStream(1_000_000, 1, 1_000_000));
		const sizes: number[] = [];
		for await (const chunk of await store.read(sha256)) sizes.push((chunk as Buffer).length);
		expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
	});

	it("lists every blob with its size and last-stored time", async () => {
		const a = await uploads.put(deterministicStream(10, 1));
		clock += 1000;
		const b = await uploads.put(deterministicStream(20, 2));
		const listed = await store.list();
		expect(listed.sort((x, y) => x.size - y.size)).toEqual([
			{
				sha256: a.sha256,
				size: 10,
				lastStoredAtMs: clock - 1000,
				createdAtMs: expect.any(Number),
			},
			{ sha256: b.sha256, size: 20, lastStoredAtMs: clock, createdAtMs: expect.any(Number) },
		]);
	});

	describe("garbage collection", () => {
		it("deletes unreferenced blobs older than the grace period, keeps the rest", async () => {
			const old = await uploads.put(deterministicStream(10, 1));
			const referenced = await uploads.put(deterministicStream(20, 2));
			clock += 2 * HOUR;
			const young = await uploads.put(deterministicStream(30, 3));
			const report = await store.collectGarbage([referenced.sha256]);
			expect(report).toEqual({
				dryRun: false,
				deleted: [{ sha256: old.sha256, size: 10 }],
				freedBytes: 10,
				kept: { referenced: 1, withinGrace: 1 },
			});
			expect((await store.list()).map(b => b.sha256).sort()).toEqual(
				[referenced.sha256, young.sha256].sort(),
			);
		});

		it("keeps an old blob whose content was put again (its version is being registered)", async () => {
			const old = await uploads.put(deterministicStream(10, 1));
			clock += 2 * HOUR;
			await uploads.put(deterministicStream(10, 1));
			const report = await store.collectGarbage([]);
			expect(report.deleted).toEqual([]);
			expect(report.kept.withinGrace).toBe(1);
			await expect(store.stat(old.sha256)).resolves.toMatchObject({ size: 10 });
		});

		it("runs beforeDelete for each blob it deletes, and keeps a blob whose beforeDelete fails", async () => {
			const old = await uploads.put(deterministicStream(10, 1));
			const kept = await uploads.put(deterministicStream(20, 2));
			clock += 2 * HOUR;
			const seen: string[] = [];
			const report = await store.collectGarbage([kept.sha256], {
				beforeDelete: async sha256 => {
					seen.push(sha256);
				},
			});
			expect(seen).toEqual([old.sha256]);
			expect(report.deleted).toEqual([{ sha256: old.sha256, size: 10 }]);

			const other = await uploads.put(deterministicStream(30, 3));
			clock += 2 * HOUR;
			await expect(
				store.collectGarbage([kept.sha256], {
					beforeDelete: () => Promise.reject(new Error("database down")),
				}),
			).rejects.toThrow("database down");
			await expect(store.stat(other.sha256)).resolves.toMatchObject({ size: 30 });
		});

		it("deletes nothing on a dry run but says what it would", async () => {
			const old = await uploads.put(deterministicStream(10, 1));
			clock += 2 * HOUR;
			const report = await store.collectGarbage([], { dryRun: true });
			expect(report).toMatchObject({ dryRun: true, deleted: [{ sha256: old.sha256 }] });
			await expect(store.stat(old.sha256)).resolves.toMatchObject({ size: 10 });
		});
	});
});
