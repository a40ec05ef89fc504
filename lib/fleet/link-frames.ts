/**
 * Frames of a direct link between two nodes (lib/fleet/direct-links.ts): a 5-byte header — the
 * payload's length (u32, big-endian) and its kind (u8) — then the payload. A TCP stream delivers
 * them split and joined at any byte, so FrameReader puts them back together, refusing a frame
 * longer than its bound before buffering any of it.
 */

/** What a frame carries. */
export const FrameKind = {
	/** A Moleculer request packet, serialized as the transporter sends it. */
	request: 1,
	/** A Moleculer response packet. */
	response: 2,
	/** Handshake: the connecting node says who it is and who it wants (JSON). */
	hello: 0x81,
	/** Handshake: the listening node's nonce and proof (JSON). */
	welcome: 0x82,
	/** Handshake: the connecting node's proof (JSON). */
	proof: 0x83,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const KNOWN_KINDS: ReadonlySet<number> = new Set(Object.values(FrameKind));

export const FRAME_HEADER_BYTES = 5;

/** Frames up to this size are written as one buffer (one write), larger ones header then payload. */
const COPY_UNDER_BYTES = 16 * 1024;

/** The bytes to write for one frame: one buffer, or the header and the payload as they are. */
export function encodeFrame(kind: FrameKind, payload: Uint8Array): Buffer[] {
	if (payload.length > 0xffffffff) throw new RangeError("A link frame holds at most 4 GiB.");
	if (payload.length < COPY_UNDER_BYTES) {
		const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
		frame.writeUInt32BE(payload.length, 0);
		frame[4] = kind;
		frame.set(payload, FRAME_HEADER_BYTES);
		return [frame];
	}
	const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
	header.writeUInt32BE(payload.length, 0);
	header[4] = kind;
	return [header, Buffer.isBuffer(payload) ? payload : Buffer.from(payload)];
}

export interface Frame {
	kind: FrameKind;
	payload: Buffer;
}

/** Why a reader gave up on its stream; the link is closed then. */
export class FrameError extends Error {}

/**
 * Reassembles frames from the chunks of one stream. A bad header (an unknown kind, a length
 * over the bound) sets `error`: the frames completed before it are still returned, and the
 * stream, out of step from there, must be closed and the reader not fed again.
 */
export class FrameReader {
	/** Set once the stream broke the framing. */
	error: FrameError | null = null;
	/** Bytes of an incomplete header or of small frames' tails, waiting for more. */
	private pending: Buffer | null = null;
	/** A large frame being filled in place. */
	private partial: { kind: FrameKind; payload: Buffer; filled: number } | null = null;

	/** `maxPayloadBytes` may be changed between chunks (a link's bound rises after its handshake). */
	constructor(public maxPayloadBytes: number) {}

	/** Bytes held for frames not yet complete. */
	get bufferedBytes(): number {
		return (this.pending?.length ?? 0) + (this.partial?.filled ?? 0);
	}

	/**
	 * The frames `chunk` completes, in order, up to a bad header (see `error`) or `maxFrames`;
	 * bytes past the last frame returned are kept for the next push (an empty chunk reads on).
	 */
	push(chunk: Buffer, maxFrames = Infinity): Frame[] {
		const frames: Frame[] = [];
		if (this.error !== null) return frames;
		let data = chunk;
		if (this.partial !== null && chunk.length > 0) {
			const { payload } = this.partial;
			const take = Math.min(payload.length - this.partial.filled, data.length);
			data.copy(payload, this.partial.filled, 0, take);
			this.partial.filled += take;
			if (this.partial.filled < payload.length) return frames;
			frames.push({ kind: this.partial.kind, payload });
			this.partial = null;
			data = data.subarray(take);
		}
		if (this.pending !== null) {
			data = Buffer.concat([this.pending, data]);
			this.pending = null;
		}
		let at = 0;
		while (frames.length < maxFrames && data.length - at >= FRAME_HEADER_BYTES) {
			const length = data.readUInt32BE(at);
			const kind = data[at + 4];
			if (!KNOWN_KINDS.has(kind)) {
				this.error = new FrameError(`unknown frame kind ${kind}`);
				return frames;
			}
			if (length > this.maxPayloadBytes) {
				this.error = new FrameError(
					`a frame of ${length} bytes is over the bound of ${this.maxPayloadBytes}`,
				);
				return frames;
			}
			const start = at + FRAME_HEADER_BYTES;
			const available = data.length - start;
			if (available >= length) {
				frames.push({
					kind: kind as FrameKind,
					payload: data.subarray(start, start + length),
				});
				at = start + length;
				continue;
			}
			if (length >= COPY_UNDER_BYTES) {
				// Large: fill one buffer of the frame's size as chunks come, instead of joining them.
				const payload = Buffer.allocUnsafe(length);
				data.copy(payload, 0, start);
				this.partial = { kind: kind as FrameKind, payload, filled: available };
				return frames;
			}
			break;
		}
		if (at < data.length) this.pending = Buffer.from(data.subarray(at));
		return frames;
	}
}
