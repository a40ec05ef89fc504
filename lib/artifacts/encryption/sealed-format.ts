/**
 * The on-disk form of an encrypted blob ("sealed"), version 1:
 *
 *     header  (116 bytes)
 *       0   8  magic 89 4D 46 45 4E 43 0D 0A ("\x89MFENC\r\n")
 *       8   1  format version, 1
 *       9   3  zero
 *      12   4  segment size S in plaintext bytes, big-endian (65536)
 *      16   8  id of the master key that wrapped the data key
 *      24  32  sha256 of the plaintext (the blob's name)
 *      56  60  the data key wrapped by the master key: nonce, AES-256-GCM of the key, tag;
 *              the bytes 0–55 are its additional data, so no header field can be changed
 *     segments
 *       the plaintext cut into pieces of S bytes (the last 0–S bytes), each sealed with
 *       AES-256-GCM under the data key: ciphertext, then its 16-byte tag. Segment i's nonce
 *       is i as an 11-byte big-endian counter followed by 1 on the last segment, else 0.
 *
 * The STREAM construction of Hoang–Reyhanitabar–Rogaway–Vizár, as age and Tink's streaming
 * AEAD use it: a blob is written and read one segment at a time (bounded memory at any
 * size), any range decrypts by reading only its segments, and a changed, reordered or
 * dropped segment — cutting the file short at a segment boundary too, since the new last
 * segment was not sealed as last — fails its tag. Each blob has its own random data key, so
 * counter nonces never repeat under a key; rotation re-wraps the 60-byte data key and leaves
 * the segments as they are. The sha256 in the header binds the file to its name: a blob moved
 * under another hash does not open.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { KEY_ID_BYTES, NONCE_BYTES, TAG_BYTES, WRAPPED_KEY_BYTES } from "./master-key";

export const SEALED_MAGIC = Buffer.from([0x89, 0x4d, 0x46, 0x45, 0x4e, 0x43, 0x0d, 0x0a]);
export const SEALED_VERSION = 1;
export const DEFAULT_SEGMENT_BYTES = 64 * 1024;
const SHA256_BYTES = 32;
const AAD_BYTES = 24 + SHA256_BYTES;
export const HEADER_BYTES = AAD_BYTES + WRAPPED_KEY_BYTES;

export interface SealedHeader {
	segmentBytes: number;
	/** Hex id of the master key that wrapped the data key. */
	keyId: string;
	/** Hex sha256 of the plaintext. */
	sha256: string;
	wrappedKey: Buffer;
}

/** Whether bytes read from the start of a file begin as a sealed blob does. */
export function isSealed(head: Buffer): boolean {
	return head.length >= SEALED_MAGIC.length && head.subarray(0, 8).equals(SEALED_MAGIC);
}

/** The header's first 56 bytes: what the wrapped key is bound to. */
export function headerAad(header: Omit<SealedHeader, "wrappedKey">): Buffer {
	const aad = Buffer.alloc(AAD_BYTES);
	SEALED_MAGIC.copy(aad, 0);
	aad.writeUInt8(SEALED_VERSION, 8);
	aad.writeUInt32BE(header.segmentBytes, 12);
	Buffer.from(header.keyId, "hex").copy(aad, 16, 0, KEY_ID_BYTES);
	Buffer.from(header.sha256, "hex").copy(aad, 24, 0, SHA256_BYTES);
	return aad;
}

export function encodeHeader(header: SealedHeader): Buffer {
	return Buffer.concat([headerAad(header), header.wrappedKey]);
}

/** The header of a sealed file's first HEADER_BYTES, or a reason it is not one. */
export function decodeHeader(bytes: Buffer): SealedHeader | string {
	if (bytes.length < HEADER_BYTES) return "the file is shorter than its header";
	if (!isSealed(bytes)) return "the file does not start as a sealed blob";
	const version = bytes.readUInt8(8);
	if (version !== SEALED_VERSION) return `sealed format version ${version} is not known`;
	const segmentBytes = bytes.readUInt32BE(12);
	if (segmentBytes === 0) return "the header gives a segment size of 0";
	return {
		segmentBytes,
		keyId: bytes.subarray(16, 24).toString("hex"),
		sha256: bytes.subarray(24, AAD_BYTES).toString("hex"),
		wrappedKey: Buffer.from(bytes.subarray(AAD_BYTES, HEADER_BYTES)),
	};
}

/** Where the segments of a sealed file of `fileSize` bytes lie, or a reason it cannot be one. */
export interface SealedGeometry {
	segmentBytes: number;
	segmentCount: number;
	plaintextSize: number;
}

export function sealedGeometry(fileSize: number, segmentBytes: number): SealedGeometry | string {
	const body = fileSize - HEADER_BYTES;
	if (body < TAG_BYTES) return "the file is cut short: it holds no complete segment";
	const sealedSegment = segmentBytes + TAG_BYTES;
	const segmentCount = Math.ceil(body / sealedSegment);
	const last = body - (segmentCount - 1) * sealedSegment;
	if (last < TAG_BYTES) return "the file is cut short inside a segment";
	return {
		segmentBytes,
		segmentCount,
		plaintextSize: (segmentCount - 1) * segmentBytes + (last - TAG_BYTES),
	};
}

/** The file offset of segment `index`. */
export function segmentOffset(index: number, segmentBytes: number): number {
	return HEADER_BYTES + index * (segmentBytes + TAG_BYTES);
}

function segmentNonce(index: number, last: boolean): Buffer {
	const nonce = Buffer.alloc(NONCE_BYTES);
	// 11-byte counter: the low 6 bytes are plenty (2^48 segments), the rest stay zero.
	nonce.writeUIntBE(index, 5, 6);
	nonce.writeUInt8(last ? 1 : 0, 11);
	return nonce;
}

export function sealSegment(dataKey: Buffer, index: number, last: boolean, plain: Buffer): Buffer {
	const cipher = createCipheriv("aes-256-gcm", dataKey, segmentNonce(index, last));
	return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext of a sealed segment, or null when it was changed (or is not segment `index`). */
export function openSegment(
	dataKey: Buffer,
	index: number,
	last: boolean,
	sealed: Buffer,
): Buffer | null {
	if (sealed.length < TAG_BYTES) return null;
	const decipher = createDecipheriv("aes-256-gcm", dataKey, segmentNonce(index, last));
	decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
	try {
		return Buffer.concat([
			decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
			decipher.final(),
		]);
	} catch {
		return null;
	}
}
