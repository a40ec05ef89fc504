/**
 * One artifact-store contract, run against every backend: the local directory, a JetStream
 * Object Store on the real NATS (a bucket of this test's own, deleted after) and S3 (an
 * s3rver the test starts). Two stores on two roots share each backend, as two control nodes
 * do: what one stores the other serves, through its own cache.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ArtifactStore } from "../../lib/artifacts/artifact-store";
import { ArtifactUploads } from "../../lib/artifacts/artifact-uploads";
import {
	LocalBlobBackend,
	NatsBlobBackend,
	S3BlobBackend,
	type BlobBackend,
} from "../../lib/artifacts/backends";
import { objectKey } from "../../lib/artifacts/backends/base";
import { MasterKey } from "../../lib/artifacts/encryption/master-key";
import { ArtifactCorruptError, NotFoundError } from "../../lib/errors";
import {
	collect,
	deterministicBytes,
	deterministicStream,
	sha256Of,
} from "../support/artifact-data";
import { isReachable, serviceUrl } from "../support/external-services";
import { startS3Server, type S3Server } from "../support/s3-server";

const HOUR = 3600_000;

interface BackendCase {
	name: string;
	/** A backend both stores share (local: the first store's directory). */
	make(rootA: string): Promise<BlobBackend & { destroy?: () => Promise<void> }>;
}

let s3: S3Server | null = null;

/** The shared test NATS (no credentials). */
const natsSettings = () => ({
	servers: [new URL(serviceUrl("nats")).host],
	connection: {},
	displayUrl: serviceUrl("nats"),
});

const CASES: BackendCase[] = [
	{ name: "local", make: async rootA => new LocalBlobBackend(rootA) },
	{
		name: "nats",
		make: async () =>
			new NatsBlobBackend({
				nats: natsSettings(),
				bucket: `test-artifacts-${randomUUID().slice(0, 8)}`,
				replicas: 1,
			}),
	},
	{
		name: "s3",
		make: async () => {
			s3 ??= await startS3Server();
			return new S3BlobBackend(s3.options(`test-${randomUUID().slice(0, 8)}`, "fleet/a"));
		},
	},
];

afterAll(async () => {
	await s3?.stop();
});

describe.each(CASES)("the artifact store on the $name backend", ({ name, make }) => {
	let rootA: string;
	let rootB: string;
	let clock: number;
	let backend: BlobBackend & { destroy?: () => Promise<void> };
	let a: ArtifactStore;
	let b: ArtifactStore;
	let uploads: ArtifactUploads;

	function stores(key: MasterKey | null = null): void {
		const options = { maxBytes: 64 * 1024 * 1024, gcGraceMs: HOUR, now: () => clock };
		a = new ArtifactStore({ ...options, root: rootA, encryptionKey: key }, backend);
		// The second node: its own directory (its cache) on the same backend.
		const second = name === "local" ? new LocalBlobBackend(rootA) : backend;
		b = new ArtifactStore({ ...options, root: rootB, encryptionKey: key }, second);
		uploads = new ArtifactUploads(a);
	}

	beforeAll(async () => {
		if (name === "nats" && !(await isReachable("nats"))) {
			throw new Error(
				`NATS at ${serviceUrl("nats")} is not answering: start nats-server -js`,
			);
		}
	});

	beforeEach(async () => {
		rootA = fs.mkdtempSync(path.join(os.tmpdir(), `mf-backend-${name}-a-`));
		rootB = fs.mkdtempSync(path.join(os.tmpdir(), `mf-backend-${name}-b-`));
		clock = Date.UTC(2026, 10, 27);
		backend = await make(rootA);
		stores();
		await a.open();
		await b.open();
	});

	afterEach(async () => {
		await backend.destroy?.();
		await a.close();
		fs.rmSync(rootA, { recursive: true, force: true });
		fs.rmSync(rootB, { recursive: true, force: true });
	});

	it("stores a stream under its sha256, and another node serves it with the same bytes", async () => {
		const bytes = await deterministicBytes(3_000_000, 3);
		const sha256 = sha256Of(bytes);
		expect(await uploads.put(Readable.from([bytes]))).toEqual({
			sha256,
			size: bytes.length,
			created: true,
		});
		expect(await b.stat(sha256)).toMatchObject({ sha256, size: bytes.length });
		expect((await collect(await b.read(sha256))).equals(bytes)).toBe(true);
		expect((await backend.stat(sha256))?.storedBytes).toBe(bytes.length);
	});

	it("stores identical content once and refreshes its last-stored time", async () => {
		const first = await uploads.put(deterministicStream(50_000, 7));
		clock += HOUR;
		const second = await uploads.put(deterministicStream(50_000, 7, 1000));
		expect(second).toEqual({ ...first, created: false });
		expect((await a.list()).map(blob => blob.sha256)).toEqual([first.sha256]);
		expect((await b.stat(first.sha256)).lastStoredAtMs).toBe(clock);
	});

	it("serves byte ranges, the empty range and the empty blob", async () => {
		const bytes = await deterministicBytes(1_500_000, 5);
		const { sha256 } = await uploads.put(Readable.from([bytes]));
		const range = await collect(await b.read(sha256, { offset: 1_000_001, length: 300_000 }));
		expect(range.equals(bytes.subarray(1_000_001, 1_300_001))).toBe(true);
		expect(await collect(await b.read(sha256, { offset: 1_499_990 }))).toEqual(
			bytes.subarray(1_499_990),
		);
		expect(await collect(await b.read(sha256, { offset: 10, length: 0 }))).toEqual(
			Buffer.alloc(0),
		);
		const empty = await uploads.put(Readable.from([]));
		expect(empty).toEqual({ sha256: sha256Of(""), size: 0, created: true });
		expect(await collect(await b.read(empty.sha256))).toEqual(Buffer.alloc(0));
	});

	it("refuses bytes that do not hash to expectedSha256, and the backend never sees them", async () => {
		const put = uploads.put(deterministicStream(10_000), { expectedSha256: "0".repeat(64) });
		await expect(put).rejects.toBeInstanceOf(ArtifactCorruptError);
		expect(await a.list()).toEqual([]);
		expect(fs.readdirSync(path.join(rootA, "tmp"))).toEqual([]);
	});

	it("answers NOT_FOUND for a blob never stored", async () => {
		const missing = sha256Of("never stored");
		await expect(b.stat(missing)).rejects.toBeInstanceOf(NotFoundError);
		await expect(b.read(missing)).rejects.toBeInstanceOf(NotFoundError);
	});

	it("refuses a stored object whose bytes changed (another node's cache verifies what it fetches)", async () => {
		if (!backend.remote) return; // the local directory is the blob itself: nothing is fetched
		const { sha256 } = await uploads.put(deterministicStream(20_000, 9));
		const other = await deterministicBytes(20_000, 10);
		await backend.put(sha256, Readable.from([other]), {
			size: other.length,
			storedBytes: other.length,
			nowMs: clock,
		});
		await expect(b.read(sha256)).rejects.toBeInstanceOf(ArtifactCorruptError);
		expect(fs.existsSync(path.join(rootB, objectKey(sha256)))).toBe(false);
	});

	it("collects unreferenced blobs after the grace period on the backend and in the caches", async () => {
		const kept = await uploads.put(deterministicStream(10_000, 1));
		const young = await uploads.put(deterministicStream(10_000, 2));
		const old = await uploads.put(deterministicStream(10_000, 3));
		await collect(await b.read(old.sha256)); // cached on the second node
		clock += 2 * HOUR;
		await backend.touch(young.sha256, clock - 1000);

		const dry = await a.collectGarbage([kept.sha256], { dryRun: true });
		expect(dry.deleted).toEqual([{ sha256: old.sha256, size: 10_000 }]);
		expect(await backend.stat(old.sha256)).not.toBeNull();

		const forgotten: string[] = [];
		const report = await a.collectGarbage([`sha256:${kept.sha256}`], {
			beforeDelete: async sha256 => void forgotten.push(sha256),
		});
		expect(report).toMatchObject({
			deleted: [{ sha256: old.sha256, size: 10_000 }],
			freedBytes: 10_000,
			kept: { referenced: 1, withinGrace: 1 },
		});
		expect(forgotten).toEqual([old.sha256]);
		expect(await backend.stat(old.sha256)).toBeNull();
		expect(fs.existsSync(path.join(rootA, objectKey(old.sha256)))).toBe(false);
		// The other node drops its copy at its own next run.
		await b.collectGarbage([kept.sha256, young.sha256]);
		expect(fs.existsSync(path.join(rootB, objectKey(old.sha256)))).toBe(false);
		await expect(b.read(old.sha256)).rejects.toBeInstanceOf(NotFoundError);
	});

	it("keeps sealed bytes in the backend and serves the plaintext with the key", async () => {
		const key = MasterKey.parse(Buffer.alloc(32, 7).toString("base64"));
		if (key === null) throw new Error("no key");
		stores(key);
		await a.open();
		await b.open();
		const bytes = await deterministicBytes(300_000, 11);
		const { sha256, size } = await uploads.put(Readable.from([bytes]));
		expect(size).toBe(300_000);
		const stored = await collect(await backend.get(sha256));
		expect(stored.includes(bytes.subarray(1000, 1100))).toBe(false);
		expect(stored.length).toBeGreaterThan(bytes.length);
		expect((await b.stat(sha256)).size).toBe(300_000);
		expect(
			(await collect(await b.read(sha256, { offset: 70_000, length: 100_000 }))).equals(
				bytes.subarray(70_000, 170_000),
			),
		).toBe(true);
	});
});
