import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable, Transform, pipeline } from "node:stream";
import { ArtifactCache } from "../../../lib/artifacts/artifact-cache";
import { downloadArtifact } from "../../../lib/artifacts/artifact-download";
import type {
	ArtifactCall,
	ArtifactCallOptions,
	GetParams,
	PutParams,
} from "../../../lib/artifacts/artifact-protocol";
import { ArtifactStore } from "../../../lib/artifacts/artifact-store";
import { ArtifactUploads } from "../../../lib/artifacts/artifact-uploads";
import { uploadArtifact } from "../../../lib/artifacts/artifact-upload";
import { ArtifactCorruptError, NotFoundError, PayloadTooLargeError } from "../../../lib/errors";
import {
	deterministicBytes,
	deterministicStream,
	listFiles,
	sha256Of,
	sha256OfFile,
} from "../../support/artifact-data";

interface RecordedCall {
	action: string;
	params: Record<string, unknown>;
	nodeID: string | undefined;
	bytes: number | null;
	maxChunk: number;
}

const NODE = "control-7";

/**
 * The artifacts service's actions over a store in this process, as the helpers see them
 * through `call`; records every call and counts the bytes of each stream.
 */
function localCall(store: ArtifactStore, uploads: ArtifactUploads) {
	const calls: RecordedCall[] = [];
	let inFlight = 0;
	let maxInFlight = 0;
	let tamper: ((chunk: Buffer) => Buffer) | null = null;

	const call: ArtifactCall = async (action, rawParams, options: ArtifactCallOptions = {}) => {
		const params = rawParams as Record<string, unknown>;
		const record: RecordedCall = {
			action,
			params,
			nodeID: options.nodeID,
			bytes: null,
			maxChunk: 0,
		};
		calls.push(record);
		let stream: Readable | null = null;
		if (options.stream) {
			record.bytes = 0;
			const counter = new Transform({
				transform(chunk: Buffer, _encoding, done) {
					record.bytes! += chunk.length;
					record.maxChunk = Math.max(record.maxChunk, chunk.length);
					done(null, chunk);
				},
			});
			// As the transit does: the sender's errors reach the receiver's stream.
			pipeline(options.stream, counter, () => undefined);
			stream = counter;
		}
		inFlight++;
		maxInFlight = Math.max(maxInFlight, inFlight);
		try {
			switch (action) {
				case "artifacts.put": {
					const p = params as PutParams;
					if (p.uploadId === undefined) return await uploads.put(stream!, p);
					const result = await uploads.putPart(
						{
							uploadId: p.uploadId,
							offset: p.offset ?? 0,
							final: p.final ?? false,
							expectedSha256: p.expectedSha256,
						},
						stream,
					);
					return "sha256" in result ? result : { ...result, nodeID: NODE };
				}
				case "artifacts.get": {
					const p = params as unknown as GetParams;
					const read = await store.read(p.sha256, p);
					if (!tamper) return read;
					const change = tamper;
					return Readable.from(
						(async function* () {
							for await (const chunk of read) yield change(chunk as Buffer);
						})(),
						{ objectMode: false },
					);
				}
				case "artifacts.stat": {
					const blob = await store.stat(params.sha256 as string);
					return { ...blob, nodeID: NODE };
				}
				default:
					throw new Error(`unexpected action ${action}`);
			}
		} finally {
			inFlight--;
		}
	};
	return {
		call,
		calls,
		maxInFlight: () => maxInFlight,
		tamper: (change: (chunk: Buffer) => Buffer) => (tamper = change),
	};
}

describe("uploadArtifact and downloadArtifact", () => {
	let root: string;
	let store: ArtifactStore;
	let uploads: ArtifactUploads;
	let service: ReturnType<typeof localCall>;

	beforeEach(async () => {
		root = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifact-transfer-"));
		store = new ArtifactStore({ root: path.join(root, "store"), maxBytes: 2_000_000 });
		uploads = new ArtifactUploads(store);
		await store.open();
		service = localCall(store, uploads);
	});

	afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

	const storeFiles = (): string[] => listFiles(path.join(root, "store"));

	describe("uploadArtifact", () => {
		it("sends the source in parts of partBytes, one at a time, pinned to one node, then completes", async () => {
			const bytes = await deterministicBytes(25_000);
			const stored = await uploadArtifact(
				service.call,
				deterministicStream(25_000, 1, 3000),
				{
					partBytes: 10_000,
				},
			);
			expect(stored).toEqual({ sha256: sha256Of(bytes), size: 25_000, created: true });
			expect(
				service.calls.map(c => [c.params.offset, c.params.final, c.bytes, c.nodeID]),
			).toEqual([
				[0, false, 10_000, undefined],
				[10_000, false, 10_000, NODE],
				[20_000, false, 5000, NODE],
				[25_000, true, null, NODE],
			]);
			expect(new Set(service.calls.map(c => c.params.uploadId)).size).toBe(1);
			expect(service.maxInFlight()).toBe(1);
		});

		it("hands the transporter chunks of at most 256 KiB, whatever the source yields", async () => {
			await uploadArtifact(service.call, Readable.from([Buffer.alloc(1_500_000, 3)]), {
				partBytes: 1_000_000,
			});
			expect(service.calls[0].bytes).toBe(1_000_000);
			expect(Math.max(...service.calls.map(c => c.maxChunk))).toBe(256 * 1024);
		});

		it("rejects with the call's error, and no unhandled stream error, when the receiver's node is gone", async () => {
			const uncaught: unknown[] = [];
			const onUncaught = (err: unknown) => uncaught.push(err);
			process.prependListener("uncaughtException", onUncaught);
			try {
				// Rejected the way Moleculer rejects calls pending on a node that left: unread.
				const gone = async () => {
					throw new Error("Node 'control' is gone");
				};
				await expect(
					uploadArtifact(gone, deterministicStream(25_000), { partBytes: 10_000 }),
				).rejects.toThrow("Node 'control' is gone");
				await new Promise(resolve => setImmediate(resolve));
			} finally {
				process.removeListener("uncaughtException", onUncaught);
			}
			expect(uncaught).toEqual([]);
		});

		it("stores an empty source with one final call", async () => {
			await expect(uploadArtifact(service.call, Readable.from([]))).resolves.toEqual({
				sha256: sha256Of(""),
				size: 0,
				created: true,
			});
			expect(service.calls).toHaveLength(1);
		});

		it("sends expectedSha256 with the first part; a mismatch keeps nothing", async () => {
			const upload = uploadArtifact(service.call, deterministicStream(25_000), {
				partBytes: 10_000,
				expectedSha256: "a".repeat(64),
			});
			await expect(upload).rejects.toBeInstanceOf(ArtifactCorruptError);
			expect(service.calls.map(c => c.params.expectedSha256 !== undefined)).toEqual([
				true,
				false,
				false,
				false,
			]);
			expect(storeFiles()).toEqual([]);
		});

		it("fails with 413 past the limit, stops reading the source and keeps nothing", async () => {
			const source = deterministicStream(10_000_000);
			const upload = uploadArtifact(service.call, source, { partBytes: 500_000 });
			await expect(upload).rejects.toBeInstanceOf(PayloadTooLargeError);
			expect(source.destroyed).toBe(true);
			expect(storeFiles()).toEqual([]);
		});

		it("fails with the source's own error and keeps nothing", async () => {
			let sent = 0;
			const source = new Readable({
				read() {
					sent++;
					if (sent > 3) this.destroy(new Error("disk read failed"));
					else this.push(Buffer.alloc(4000, sent));
				},
			});
			await expect(uploadArtifact(service.call, source, { partBytes: 5000 })).rejects.toThrow(
				"disk read failed",
			);
			expect(storeFiles()).toEqual([]);
		});
	});

	describe("downloadArtifact", () => {
		let sha256: string;
		let destination: string;

		beforeEach(async () => {
			({ sha256 } = await uploads.put(deterministicStream(25_000)));
			destination = path.join(root, "worker", "model.onnx");
			service.calls.length = 0;
		});

		it("fetches a blob in ranged parts from the node that has it and verifies it", async () => {
			await expect(
				downloadArtifact(service.call, sha256, destination, { partBytes: 10_000 }),
			).resolves.toEqual({ sha256, size: 25_000, path: destination });
			expect(await sha256OfFile(destination)).toEqual({ sha256, size: 25_000 });
			expect(
				service.calls.map(c => [c.action, c.params.offset, c.params.length, c.nodeID]),
			).toEqual([
				["artifacts.stat", undefined, undefined, undefined],
				["artifacts.get", 0, 10_000, NODE],
				["artifacts.get", 10_000, 10_000, NODE],
				["artifacts.get", 20_000, 5000, NODE],
			]);
			expect(listFiles(path.join(root, "worker"))).toEqual(["model.onnx"]);
		});

		it("answers ARTIFACT_CORRUPT when the bytes do not hash to the name, and leaves nothing", async () => {
			service.tamper(chunk => {
				const copy = Buffer.from(chunk);
				copy[0] ^= 1;
				return copy;
			});
			const download = downloadArtifact(service.call, sha256, destination, {
				partBytes: 10_000,
			});
			await expect(download).rejects.toBeInstanceOf(ArtifactCorruptError);
			await expect(download).rejects.toMatchObject({ data: { expected: sha256 } });
			expect(listFiles(path.join(root, "worker"))).toEqual([]);
		});

		it("answers ARTIFACT_CORRUPT when a part sends more bytes than asked", async () => {
			service.tamper(chunk => Buffer.concat([chunk, Buffer.from("extra")]));
			await expect(
				downloadArtifact(service.call, sha256, destination),
			).rejects.toBeInstanceOf(ArtifactCorruptError);
			expect(listFiles(path.join(root, "worker"))).toEqual([]);
		});

		it("answers NOT_FOUND for an unknown hash and creates nothing", async () => {
			await expect(
				downloadArtifact(service.call, "b".repeat(64), destination),
			).rejects.toBeInstanceOf(NotFoundError);
			expect(fs.existsSync(destination)).toBe(false);
		});

		it("fails a part that stalls, and leaves nothing", async () => {
			const stalling: ArtifactCall = async (action, params, options) =>
				action === "artifacts.get"
					? new Readable({ read: () => undefined })
					: service.call(action, params, options);
			await expect(
				downloadArtifact(stalling, sha256, destination, { stallTimeoutMs: 100 }),
			).rejects.toMatchObject({ code: 504 });
			expect(listFiles(path.join(root, "worker"))).toEqual([]);
		});
	});

	describe("ArtifactCache", () => {
		it("downloads a blob once, shared by concurrent callers, and serves it from disk after", async () => {
			const { sha256 } = await uploads.put(deterministicStream(5000));
			service.calls.length = 0;
			const cache = new ArtifactCache({ root: path.join(root, "cache"), call: service.call });
			await cache.open();
			const [a, b] = await Promise.all([cache.path(sha256), cache.path(sha256)]);
			expect(a).toBe(path.join(root, "cache", "sha256", sha256.slice(0, 2), sha256));
			expect(b).toBe(a);
			expect(await sha256OfFile(a)).toEqual({ sha256, size: 5000 });
			expect(service.calls.filter(c => c.action === "artifacts.stat")).toHaveLength(1);
			expect(await cache.path(sha256)).toBe(a);
			expect(service.calls.filter(c => c.action === "artifacts.stat")).toHaveLength(1);
			expect(await cache.has(sha256)).toBe(true);
			await cache.evict(sha256);
			expect(await cache.has(sha256)).toBe(false);
		});

		it("deletes downloads cut off by an earlier stop when it opens", async () => {
			const cache = new ArtifactCache({ root: path.join(root, "cache"), call: service.call });
			await cache.open();
			fs.writeFileSync(path.join(root, "cache", "tmp", "x.part"), "half");
			await expect(cache.open()).resolves.toEqual({ removedTempFiles: 1 });
			expect(listFiles(path.join(root, "cache"))).toEqual([]);
		});
	});
});
