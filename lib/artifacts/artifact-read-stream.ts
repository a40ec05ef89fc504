/**
 * A blob (or a byte range of it) as one Readable, fetched in ranged `artifacts.get` parts, one
 * in flight and only as fast as the reader reads: memory stays about one part whatever the
 * blob's size, over a transporter too (a Moleculer stream has no back-pressure across NATS,
 * lib/artifacts/artifact-protocol.ts). The artifacts service decrypts what it stores sealed.
 * A whole blob is hashed as it goes: bytes that are not the blob end the stream with
 * ARTIFACT_CORRUPT instead of its last chunk.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { ArtifactCorruptError } from "../errors";
import {
	ARTIFACT_ACTIONS,
	DEFAULT_PART_BYTES,
	type ArtifactCall,
	type GetParams,
} from "./artifact-protocol";

export interface ArtifactReadOptions {
	/** The blob's size (from `artifacts.stat`). */
	size: number;
	/** First byte; default 0. */
	offset?: number;
	/** Bytes to read; default to the end. */
	length?: number;
	/** The node whose store holds the blob (`artifacts.stat`'s nodeID). */
	nodeID?: string;
	/** Bytes per `artifacts.get`. Default DEFAULT_PART_BYTES (1 MiB). */
	partBytes?: number;
}

export function artifactReadStream(
	call: ArtifactCall,
	sha256: string,
	options: ArtifactReadOptions,
): Readable {
	const offset = options.offset ?? 0;
	const end = offset + (options.length ?? options.size - offset);
	const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
	const whole = offset === 0 && end === options.size;
	async function* parts(): AsyncGenerator<Buffer> {
		const hash = whole ? createHash("sha256") : null;
		let position = offset;
		while (position < end) {
			const length = Math.min(partBytes, end - position);
			const params: GetParams = { sha256, offset: position, length };
			const part = (await call(
				ARTIFACT_ACTIONS.get,
				params,
				options.nodeID !== undefined ? { nodeID: options.nodeID } : {},
			)) as Readable;
			let received = 0;
			try {
				for await (const chunk of part as AsyncIterable<Buffer>) {
					received += chunk.length;
					if (received > length) break;
					hash?.update(chunk);
					yield chunk;
				}
			} finally {
				part.destroy();
			}
			// Shorter or longer than asked: the store's bytes are not the blob's.
			if (received !== length)
				throw new ArtifactCorruptError(sha256, hash?.digest("hex") ?? "unknown");
			position += length;
		}
		const actual = hash?.digest("hex");
		if (actual !== undefined && actual !== sha256)
			throw new ArtifactCorruptError(sha256, actual);
	}
	return Readable.from(parts(), { objectMode: false, highWaterMark: 64 * 1024 });
}
