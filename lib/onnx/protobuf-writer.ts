/**
 * The protobuf wire format, write side: just what ONNX needs (varints, fixed32/64, length-
 * delimited bytes, packed repeated scalars and embedded messages). A message is a list of
 * chunks; an embedded message or a large `bytes` field is kept by reference, so tensor data is
 * copied once, into the final buffer, however deep it is nested.
 */

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/). */
export const WireType = {
	VARINT: 0,
	FIXED64: 1,
	LENGTH_DELIMITED: 2,
	FIXED32: 5,
} as const;

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);

export class ProtobufWriter {
	private readonly chunks: Uint8Array[] = [];
	/** Small writes gather here and become one chunk when a referenced chunk follows. */
	private pending: number[] = [];
	private chunkBytes = 0;

	/** Bytes written so far. */
	get length(): number {
		return this.chunkBytes + this.pending.length;
	}

	/** An unsigned or signed integer field as a varint (int32, int64, uint64, enum, bool). */
	int64(field: number, value: number | bigint): this {
		this.tag(field, WireType.VARINT);
		this.varint(value);
		return this;
	}

	bool(field: number, value: boolean): this {
		return this.int64(field, value ? 1 : 0);
	}

	/** A `float` field (fixed32, little-endian IEEE 754). */
	float(field: number, value: number): this {
		this.tag(field, WireType.FIXED32);
		const bytes = new Uint8Array(4);
		new DataView(bytes.buffer).setFloat32(0, value, true);
		this.raw(bytes);
		return this;
	}

	/** A `double` field (fixed64, little-endian IEEE 754). */
	double(field: number, value: number): this {
		this.tag(field, WireType.FIXED64);
		const bytes = new Uint8Array(8);
		new DataView(bytes.buffer).setFloat64(0, value, true);
		this.raw(bytes);
		return this;
	}

	/** A `bytes` field. Large arrays are kept by reference until `finish()`. */
	bytes(field: number, value: Uint8Array): this {
		this.tag(field, WireType.LENGTH_DELIMITED);
		this.varint(value.byteLength);
		this.raw(value);
		return this;
	}

	string(field: number, value: string): this {
		return this.bytes(field, new TextEncoder().encode(value));
	}

	/** An embedded message, written by another writer (which must not change afterwards). */
	message(field: number, message: ProtobufWriter): this {
		this.tag(field, WireType.LENGTH_DELIMITED);
		this.varint(message.length);
		message.flush();
		for (const chunk of message.chunks) this.raw(chunk);
		return this;
	}

	/** A repeated integer field, packed (parsers accept packed and unpacked alike). */
	packedInt64(field: number, values: readonly (number | bigint)[]): this {
		const body = new ProtobufWriter();
		for (const value of values) body.varint(value);
		this.tag(field, WireType.LENGTH_DELIMITED);
		this.varint(body.length);
		body.flush();
		for (const chunk of body.chunks) this.raw(chunk);
		return this;
	}

	/** A repeated `float` field, packed. */
	packedFloat(field: number, values: readonly number[]): this {
		const bytes = new Uint8Array(values.length * 4);
		const view = new DataView(bytes.buffer);
		values.forEach((value, i) => view.setFloat32(i * 4, value, true));
		return this.bytes(field, bytes);
	}

	/** The message as one buffer. */
	finish(): Uint8Array {
		this.flush();
		if (this.chunks.length === 1) return this.chunks[0];
		const out = new Uint8Array(this.chunkBytes);
		let offset = 0;
		for (const chunk of this.chunks) {
			out.set(chunk, offset);
			offset += chunk.byteLength;
		}
		return out;
	}

	private tag(field: number, wireType: number): void {
		if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff)
			throw new RangeError(`Invalid protobuf field number ${field}`);
		this.varint(field * 8 + wireType);
	}

	/** Base-128 varint; negative numbers take ten bytes, as protobuf's int32/int64 do. */
	private varint(value: number | bigint): void {
		if (typeof value === "number" && value >= 0 && Number.isSafeInteger(value)) {
			let v = value;
			while (v >= 0x80) {
				this.pending.push((v % 0x80) | 0x80);
				v = Math.floor(v / 0x80);
			}
			this.pending.push(v);
			return;
		}
		if (typeof value === "number" && !Number.isSafeInteger(value))
			throw new RangeError(`Not an integer that a varint can hold exactly: ${value}`);
		const big = BigInt(value);
		if (big > UINT64_MAX || big < INT64_MIN)
			throw new RangeError(`Does not fit in 64 bits: ${value}`);
		let v = BigInt.asUintN(64, big);
		while (v >= 0x80n) {
			this.pending.push(Number(v & 0x7fn) | 0x80);
			v >>= 7n;
		}
		this.pending.push(Number(v));
	}

	private raw(bytes: Uint8Array): void {
		if (bytes.byteLength < 64) {
			for (const byte of bytes) this.pending.push(byte);
			return;
		}
		this.flush();
		this.chunks.push(bytes);
		this.chunkBytes += bytes.byteLength;
	}

	private flush(): void {
		if (this.pending.length === 0) return;
		this.chunks.push(Uint8Array.from(this.pending));
		this.chunkBytes += this.pending.length;
		this.pending = [];
	}
}
