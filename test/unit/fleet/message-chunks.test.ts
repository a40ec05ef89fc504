import { randomBytes } from "node:crypto";
import {
	CHUNK_HEADER_BYTES,
	ChunkAssembler,
	isChunk,
	splitMessage,
} from "../../../lib/fleet/message-chunks";

const LIMITS = { maxMessageBytes: 1_000_000, maxPendingBytes: 2_000_000, staleAfterMs: 1000 };
const id = (n: number) => {
	const buffer = Buffer.alloc(12);
	buffer.writeUInt32BE(n, 8);
	return buffer;
};

describe("splitMessage and ChunkAssembler", () => {
	it("split a message into chunks no larger than asked and put it together again", () => {
		const message = randomBytes(10_000);
		const chunks = splitMessage(message, 1024, id(1));
		expect(chunks.length).toBe(Math.ceil(10_000 / (1024 - CHUNK_HEADER_BYTES)));
		expect(chunks.every(c => c.length <= 1024 && isChunk(c))).toBe(true);
		const assembler = new ChunkAssembler(LIMITS);
		const outcomes = chunks.map(c => assembler.accept(c));
		expect(outcomes.slice(0, -1).every(o => o === null)).toBe(true);
		expect(Buffer.compare(outcomes.at(-1) as Buffer, message)).toBe(0);
		expect(assembler.heldBytes).toBe(0);
	});

	it("keep interleaved messages apart by their ids", () => {
		const a = randomBytes(3000);
		const b = randomBytes(2500);
		const ca = splitMessage(a, 600, id(1));
		const cb = splitMessage(b, 600, id(2));
		const assembler = new ChunkAssembler(LIMITS);
		const done: Buffer[] = [];
		for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
			for (const chunk of [ca[i], cb[i]]) {
				if (!chunk) continue;
				const outcome = assembler.accept(chunk);
				if (Buffer.isBuffer(outcome)) done.push(outcome);
			}
		}
		expect(done.map(d => d.length).sort()).toEqual([2500, 3000]);
		expect(done.some(d => d.equals(a)) && done.some(d => d.equals(b))).toBe(true);
	});

	it("never take a whole CBOR packet for a chunk", () => {
		expect(isChunk(Buffer.from([0xa2, 0x61, 0x61, 0x01]))).toBe(false);
		expect(isChunk(Buffer.alloc(100, 0xff))).toBe(false);
	});

	it("drop a message over the size limit at its first chunk, holding nothing", () => {
		const assembler = new ChunkAssembler({ ...LIMITS, maxMessageBytes: 5000 });
		const [first] = splitMessage(randomBytes(6000), 1000, id(1));
		expect(assembler.accept(first)).toEqual({
			reason: expect.stringContaining("over the 5000-byte limit"),
		});
		expect(assembler.heldBytes).toBe(0);
	});

	it("drop a message whose chunks come out of order or without the first", () => {
		const chunks = splitMessage(randomBytes(5000), 1000, id(1));
		const assembler = new ChunkAssembler(LIMITS);
		expect(assembler.accept(chunks[1])).toEqual({
			reason: expect.stringContaining("without its first"),
		});
		expect(assembler.accept(chunks[0])).toBeNull();
		expect(assembler.accept(chunks[2])).toEqual({
			reason: expect.stringContaining("does not follow"),
		});
		expect(assembler.heldBytes).toBe(0);
	});

	it("forget a message not finished in time, and the oldest when the pending bytes are full", () => {
		let now = 0;
		const assembler = new ChunkAssembler({ ...LIMITS, maxPendingBytes: 12_000 }, () => now);
		const a = splitMessage(randomBytes(5000), 1000, id(1));
		const b = splitMessage(randomBytes(5000), 1000, id(2));
		const c = splitMessage(randomBytes(5000), 1000, id(3));
		assembler.accept(a[0]);
		assembler.accept(b[0]);
		expect(assembler.heldBytes).toBe(10_000);
		assembler.accept(c[0]); // 15,000 > 12,000: a, the oldest, goes
		expect(assembler.heldBytes).toBe(10_000);
		expect(assembler.accept(a[1])).toEqual({
			reason: expect.stringContaining("without its first"),
		});
		now = 2000;
		expect(assembler.accept(b[1])).toEqual({
			reason: expect.stringContaining("without its first"),
		});
		expect(assembler.heldBytes).toBe(0);
	});
});
