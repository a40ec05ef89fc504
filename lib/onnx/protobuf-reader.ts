/**
 * The protobuf wire format, read side: a cursor over bytes that yields tags and values and
 * says precisely where the bytes stop making sense. Length-delimited values are views into the
 * input, never copies.
 */
import { WireType } from "./protobuf-writer";

/** Bytes that are not the protobuf they should be; the message says what and at which offset. */
export class ProtobufDecodeError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ProtobufDecodeError";
	}
}

export interface ProtobufTag {
	field: number;
	wireType: number;
}

export class ProtobufReader {
	private pos: number;
	private readonly end: number;

	/**
	 * @param bytes the message
	 * @param baseOffset where `bytes` starts in the whole file, only for error messages
	 */
	constructor(
		private readonly bytes: Uint8Array,
		private readonly baseOffset = 0,
	) {
		this.pos = 0;
		this.end = bytes.byteLength;
	}

	/** Offset of the next unread byte, within `bytes`. */
	get position(): number {
		return this.pos;
	}

	get done(): boolean {
		return this.pos >= this.end;
	}

	tag(): ProtobufTag {
		const at = this.pos;
		const key = this.uint();
		const field = Math.floor(key / 8);
		const wireType = key % 8;
		if (field === 0) this.fail(at, "field number 0");
		if (wireType === 3 || wireType === 4 || wireType > 5)
			this.fail(at, `unsupported wire type ${wireType} for field ${field}`);
		return { field, wireType };
	}

	/** A varint as a bigint (int64/uint64 fields). */
	varint(): bigint {
		const at = this.pos;
		let result = 0n;
		for (let shift = 0n; shift < 70n; shift += 7n) {
			if (this.pos >= this.end) this.fail(at, "truncated varint");
			const byte = this.bytes[this.pos++];
			result |= BigInt(byte & 0x7f) << shift;
			if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
		}
		return this.fail(at, "varint longer than 10 bytes");
	}

	/** A non-negative varint that must fit a JS number exactly (lengths, counts, field keys). */
	uint(): number {
		const at = this.pos;
		const value = this.varint();
		if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(at, `value ${value} is too large`);
		return Number(value);
	}

	/** A signed int32/int64 varint as a number (two's complement). */
	int(): number {
		return Number(BigInt.asIntN(64, this.varint()));
	}

	/** A length-delimited value, as a view into the input. */
	bytesValue(): Uint8Array {
		const at = this.pos;
		const length = this.uint();
		if (length > this.end - this.pos)
			this.fail(
				at,
				`a length-delimited value claims ${length} bytes but only ${this.end - this.pos} remain`,
			);
		const value = this.bytes.subarray(this.pos, this.pos + length);
		this.pos += length;
		return value;
	}

	string(): string {
		return new TextDecoder("utf-8").decode(this.bytesValue());
	}

	float(): number {
		return new DataView(this.take(4).slice().buffer).getFloat32(0, true);
	}

	double(): number {
		return new DataView(this.take(8).slice().buffer).getFloat64(0, true);
	}

	/** Skips a value of the given wire type. */
	skip(wireType: number): void {
		switch (wireType) {
			case WireType.VARINT:
				this.varint();
				return;
			case WireType.FIXED64:
				this.take(8);
				return;
			case WireType.LENGTH_DELIMITED:
				this.bytesValue();
				return;
			case WireType.FIXED32:
				this.take(4);
				return;
			default:
				this.fail(this.pos, `cannot skip wire type ${wireType}`);
		}
	}

	/** Values of a repeated integer field, packed or not (the tag is already read). */
	repeatedInt(wireType: number): number[] {
		if (wireType !== WireType.LENGTH_DELIMITED) return [this.int()];
		const body = this.bytesValue();
		const inner = new ProtobufReader(body, this.baseOffset + this.pos - body.byteLength);
		const values: number[] = [];
		while (!inner.done) values.push(inner.int());
		return values;
	}

	private take(length: number): Uint8Array {
		if (length > this.end - this.pos)
			this.fail(this.pos, `needs ${length} bytes but only ${this.end - this.pos} remain`);
		const value = this.bytes.subarray(this.pos, this.pos + length);
		this.pos += length;
		return value;
	}

	private fail(at: number, problem: string): never {
		throw new ProtobufDecodeError(`${problem} at byte ${this.baseOffset + at}`);
	}
}
