/**
 * Reads sealed blobs (sealed-format.ts): opens the header with the master key, then decrypts
 * any byte range by reading only the segments it touches, a few at a time. Every failure —
 * no key, another key, a changed header or segment, a file cut short — is an
 * ArtifactUnreadableError that says which.
 */
import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { ArtifactUnreadableError } from "../../errors";
import type { MasterKey } from "./master-key";
import { TAG_BYTES } from "./master-key";
import {
	HEADER_BYTES,
	decodeHeader,
	headerAad,
	openSegment,
	sealedGeometry,
	segmentOffset,
	type SealedGeometry,
	type SealedHeader,
} from "./sealed-format";

/** Segments read with one read call: 16 × 64 KiB, about the transporter's part size. */
const SEGMENTS_PER_READ = 16;

/** An opened sealed file: what a range read needs. */
export interface OpenedSealed extends SealedGeometry {
	header: SealedHeader;
	dataKey: Buffer;
	fileSize: number;
}

/** The header of a file that starts as a sealed blob; the caller checked `isSealed` on its head. */
export async function readSealedHeader(file: FileHandle, what: string): Promise<SealedHeader> {
	const head = Buffer.alloc(HEADER_BYTES);
	const { bytesRead } = await file.read(head, 0, HEADER_BYTES, 0);
	const header = decodeHeader(head.subarray(0, bytesRead));
	if (typeof header === "string") throw new ArtifactUnreadableError(what, header + ".");
	return header;
}

/**
 * Unwraps the data key of a sealed file with `key`. `expectedSha256`, when given, must be the
 * hash the header names (a file moved under another name does not open).
 */
export async function openSealed(
	file: FileHandle,
	key: MasterKey | null,
	what: string,
	expectedSha256?: string,
): Promise<OpenedSealed> {
	const header = await readSealedHeader(file, what);
	if (key === null) {
		throw new ArtifactUnreadableError(
			what,
			`it is encrypted (master key id ${header.keyId}) and this node has no MODELFLEET_ENCRYPTION_KEY.`,
		);
	}
	if (header.keyId !== key.id) {
		throw new ArtifactUnreadableError(
			what,
			`it is encrypted under master key id ${header.keyId}, but MODELFLEET_ENCRYPTION_KEY has id ${key.id}.`,
		);
	}
	if (expectedSha256 !== undefined && header.sha256 !== expectedSha256) {
		throw new ArtifactUnreadableError(
			what,
			`its header names sha256 ${header.sha256}: the file was moved or changed.`,
		);
	}
	const dataKey = key.unwrap(header.wrappedKey, headerAad(header));
	if (dataKey === null) {
		throw new ArtifactUnreadableError(
			what,
			"its header was changed: the data key does not unwrap.",
		);
	}
	const fileSize = (await file.stat()).size;
	const geometry = sealedGeometry(fileSize, header.segmentBytes);
	if (typeof geometry === "string") throw new ArtifactUnreadableError(what, geometry + ".");
	return { ...geometry, header, dataKey, fileSize };
}

/**
 * The plaintext bytes [start, end) of an opened sealed file, as a stream; the file is closed
 * when the stream ends or is destroyed (`closeFile` false leaves it open).
 */
export function readSealedRange(
	file: FileHandle,
	sealed: OpenedSealed,
	start: number,
	end: number,
	what: string,
	closeFile = true,
): Readable {
	async function* segments(): AsyncGenerator<Buffer> {
		try {
			if (end <= start) return;
			const { segmentBytes, segmentCount } = sealed;
			const first = Math.floor(start / segmentBytes);
			const last = Math.floor((end - 1) / segmentBytes);
			for (let batch = first; batch <= last; batch += SEGMENTS_PER_READ) {
				const upTo = Math.min(last, batch + SEGMENTS_PER_READ - 1);
				const from = segmentOffset(batch, segmentBytes);
				const to = Math.min(segmentOffset(upTo + 1, segmentBytes), sealed.fileSize);
				const bytes = Buffer.alloc(to - from);
				const { bytesRead } = await file.read(bytes, 0, bytes.length, from);
				if (bytesRead !== bytes.length) {
					throw new ArtifactUnreadableError(what, "the file was cut short while read.");
				}
				for (let index = batch; index <= upTo; index++) {
					const at = (index - batch) * (segmentBytes + TAG_BYTES);
					const sealedBytes = bytes.subarray(at, at + segmentBytes + TAG_BYTES);
					const plain = openSegment(
						sealed.dataKey,
						index,
						index === segmentCount - 1,
						sealedBytes,
					);
					if (plain === null) {
						throw new ArtifactUnreadableError(
							what,
							`segment ${index} of ${segmentCount} was changed or the file cut short.`,
						);
					}
					const base = index * segmentBytes;
					const slice = plain.subarray(
						Math.max(0, start - base),
						Math.min(plain.length, end - base),
					);
					if (slice.length > 0) yield slice;
				}
			}
		} finally {
			if (closeFile) await file.close();
		}
	}
	return Readable.from(segments(), { objectMode: false });
}
