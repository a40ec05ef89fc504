import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buffer } from "node:stream/consumers";
import { openBlobFile, statBlobFile } from "../../../../lib/artifacts/blob-file";
import { BlobSealer } from "../../../../lib/artifacts/encryption/blob-sealer";
import { MasterKey } from "../../../../lib/artifacts/encryption/master-key";
import { HEADER_BYTES } from "../../../../lib/artifacts/encryption/sealed-format";
import { ArtifactUnreadableError } from "../../../../lib/errors";

/** Small segments, so a few hundred bytes cross many segment boundaries. */
const SEGMENT = 16;

const sha256Of = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function bytesOf(length: number): Buffer {
	return Buffer.from(Array.from({ length }, (_, i) => (i * 7 + 3) % 251));
}

/** Seals `plain` the way writers do: placeholder, segments fed in uneven chunks, final, header. */
function sealToFile(file: string, plain: Buffer, key: MasterKey, chunk = 7): string {
	const sealer = new BlobSealer(key, SEGMENT);
	const parts: Buffer[] = [BlobSealer.placeholder];
	for (let at = 0; at < plain.length; at += chunk) {
		parts.push(sealer.update(plain.subarray(at, at + chunk)));
	}
	parts.push(sealer.final());
	const sealed = Buffer.concat(parts);
	sealer.header(sha256Of(plain)).copy(sealed, 0);
	fs.writeFileSync(file, sealed);
	return sha256Of(plain);
}

async function readAll(file: string, key: MasterKey | null, sha256: string): Promise<Buffer> {
	const blob = await openBlobFile(file, key, sha256);
	if (blob.size === 0) {
		await blob.close();
		return Buffer.alloc(0);
	}
	return buffer(blob.read(0, blob.size));
}

describe("sealed blobs (AES-256-GCM segments under a wrapped data key)", () => {
	let dir: string;
	const key = MasterKey.generate();

	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-sealed-"));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	it.each([0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 5 * SEGMENT + 5])(
		"round-trips %i bytes, and the file does not hold them",
		async length => {
			const plain = bytesOf(length);
			const file = path.join(dir, "blob");
			const sha256 = sealToFile(file, plain, key);
			expect(await readAll(file, key, sha256)).toEqual(plain);
			expect(await statBlobFile(file)).toMatchObject({ size: length, keyId: key.id });
			if (length >= 8)
				expect(fs.readFileSync(file).includes(plain.subarray(0, 8))).toBe(false);
		},
	);

	it("decrypts any range by reading only its segments", async () => {
		const plain = bytesOf(4 * SEGMENT + 9);
		const file = path.join(dir, "blob");
		const sha256 = sealToFile(file, plain, key);
		const blob = await openBlobFile(file, key, sha256);
		await blob.close();
		for (let start = 0; start < plain.length; start += 5) {
			for (let end = start + 1; end <= plain.length; end += 7) {
				const opened = await openBlobFile(file, key, sha256);
				expect(await buffer(opened.read(start, end))).toEqual(plain.subarray(start, end));
			}
		}
	});

	it("refuses a changed segment byte", async () => {
		const plain = bytesOf(3 * SEGMENT);
		const file = path.join(dir, "blob");
		const sha256 = sealToFile(file, plain, key);
		const sealed = fs.readFileSync(file);
		sealed[HEADER_BYTES + SEGMENT + 16 + 3] ^= 1; // inside segment 1
		fs.writeFileSync(file, sealed);
		await expect(readAll(file, key, sha256)).rejects.toThrow(/segment 1 of 3 was changed/);
		// A range that does not touch segment 1 still reads.
		const opened = await openBlobFile(file, key, sha256);
		expect(await buffer(opened.read(0, SEGMENT))).toEqual(plain.subarray(0, SEGMENT));
	});

	it("refuses a changed header", async () => {
		const file = path.join(dir, "blob");
		const sha256 = sealToFile(file, bytesOf(40), key);
		const sealed = fs.readFileSync(file);
		sealed[HEADER_BYTES - 3] ^= 1; // the wrap tag
		fs.writeFileSync(file, sealed);
		await expect(readAll(file, key, sha256)).rejects.toThrow(ArtifactUnreadableError);
		await expect(readAll(file, key, sha256)).rejects.toThrow(/data key does not unwrap/);
	});

	it("refuses a file cut short, at a segment boundary or inside a segment", async () => {
		const plain = bytesOf(3 * SEGMENT + 4);
		const file = path.join(dir, "blob");
		const sha256 = sealToFile(file, plain, key);
		const sealed = fs.readFileSync(file);
		// Dropping the whole last segment leaves a file whose new last segment was not sealed as last.
		const boundary = HEADER_BYTES + 3 * (SEGMENT + 16);
		fs.writeFileSync(file, sealed.subarray(0, boundary));
		await expect(readAll(file, key, sha256)).rejects.toThrow(/segment 2 of 3 was changed/);
		fs.writeFileSync(file, sealed.subarray(0, boundary + 10));
		await expect(readAll(file, key, sha256)).rejects.toThrow(/cut short inside a segment/);
		fs.writeFileSync(file, sealed.subarray(0, HEADER_BYTES - 1));
		await expect(readAll(file, key, sha256)).rejects.toThrow(/shorter than its header/);
	});

	it("refuses another master key, and no key, naming the key ids", async () => {
		const file = path.join(dir, "blob");
		const sha256 = sealToFile(file, bytesOf(40), key);
		const other = MasterKey.generate();
		await expect(readAll(file, other, sha256)).rejects.toThrow(
			`master key id ${key.id}, but MODELFLEET_ENCRYPTION_KEY has id ${other.id}`,
		);
		await expect(readAll(file, null, sha256)).rejects.toThrow(/no MODELFLEET_ENCRYPTION_KEY/);
	});

	it("refuses a file moved under another blob's name", async () => {
		const file = path.join(dir, "blob");
		sealToFile(file, bytesOf(40), key);
		await expect(readAll(file, key, sha256Of(bytesOf(41)))).rejects.toThrow(
			/header names sha256/,
		);
	});

	it("reads a plain file (stored before a key was set) as it is", async () => {
		const plain = bytesOf(100);
		const file = path.join(dir, "blob");
		fs.writeFileSync(file, plain);
		expect(await readAll(file, key, sha256Of(plain))).toEqual(plain);
		expect(await statBlobFile(file)).toMatchObject({ size: 100, keyId: null });
	});
});

describe("MasterKey", () => {
	it("parses 32 bytes of base64 and nothing else", () => {
		const key = MasterKey.generate();
		expect(MasterKey.parse(key.toBase64())?.id).toBe(key.id);
		expect(MasterKey.parse(` ${key.toBase64()}\n`)?.id).toBe(key.id);
		expect(MasterKey.parse(Buffer.alloc(16).toString("base64"))).toBeNull();
		expect(MasterKey.parse("not base64 at all!")).toBeNull();
	});

	it("unwraps only what it wrapped, with the same additional data", () => {
		const key = MasterKey.generate();
		const dataKey = Buffer.alloc(32, 7);
		const wrapped = key.wrap(dataKey, Buffer.from("aad"));
		expect(key.unwrap(wrapped, Buffer.from("aad"))).toEqual(dataKey);
		expect(key.unwrap(wrapped, Buffer.from("aae"))).toBeNull();
		expect(MasterKey.generate().unwrap(wrapped, Buffer.from("aad"))).toBeNull();
	});
});
