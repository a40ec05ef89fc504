import { randomBytes } from "node:crypto";
import {
	encodeFrame,
	FRAME_HEADER_BYTES,
	FrameError,
	FrameKind,
	FrameReader,
	type Frame,
} from "../../../lib/fleet/link-frames";

/** The bytes of frames as one buffer, as a stream would carry them. */
function wire(...frames: Array<[FrameKind, Buffer]>): Buffer {
	return Buffer.concat(frames.flatMap(([kind, payload]) => encodeFrame(kind, payload)));
}

function readAll(reader: FrameReader, chunks: Buffer[]): Frame[] {
	return chunks.flatMap(chunk => reader.push(chunk));
}

describe("link frames", () => {
	const small = randomBytes(300);
	const large = randomBytes(100_000);
	const empty = Buffer.alloc(0);
	const bytes = wire(
		[FrameKind.request, small],
		[FrameKind.response, large],
		[FrameKind.request, empty],
		[FrameKind.response, small],
	);

	function expectFrames(frames: Frame[]): void {
		expect(frames.map(f => f.kind)).toEqual([
			FrameKind.request,
			FrameKind.response,
			FrameKind.request,
			FrameKind.response,
		]);
		expect(frames[0].payload.equals(small)).toBe(true);
		expect(frames[1].payload.equals(large)).toBe(true);
		expect(frames[2].payload.length).toBe(0);
		expect(frames[3].payload.equals(small)).toBe(true);
	}

	it("come back whole from one chunk", () => {
		expectFrames(readAll(new FrameReader(1_000_000), [bytes]));
	});

	it.each([1, 2, 3, 5, 7, 1000, 4096, 65_536])(
		"come back whole from chunks of %i bytes",
		size => {
			const chunks: Buffer[] = [];
			for (let at = 0; at < bytes.length; at += size)
				chunks.push(bytes.subarray(at, at + size));
			const reader = new FrameReader(1_000_000);
			expectFrames(readAll(reader, chunks));
			expect(reader.bufferedBytes).toBe(0);
		},
	);

	it("write a small frame as one buffer and a large one as header and payload", () => {
		expect(encodeFrame(FrameKind.request, small)).toHaveLength(1);
		const parts = encodeFrame(FrameKind.request, large);
		expect(parts).toHaveLength(2);
		expect(parts[0]).toHaveLength(FRAME_HEADER_BYTES);
		expect(parts[1]).toBe(large);
	});

	it("refuse a frame over the bound from its header, before buffering it", () => {
		const reader = new FrameReader(1000);
		const header = encodeFrame(FrameKind.request, randomBytes(20_000))[0];
		expect(reader.push(header)).toEqual([]);
		expect(reader.error).toBeInstanceOf(FrameError);
		expect(reader.bufferedBytes).toBe(0);
		// 4 GiB - 1 announced: refused the same way, nothing allocated.
		const huge = new FrameReader(1000);
		huge.push(Buffer.from([0xff, 0xff, 0xff, 0xff, FrameKind.request]));
		expect(huge.error?.message).toMatch(/over the bound/);
	});

	it("return the frames before a bad header, then nothing more", () => {
		const reader = new FrameReader(1000);
		const good = wire([FrameKind.request, Buffer.from("ok")]);
		const frames = reader.push(Buffer.concat([good, Buffer.from([0, 0, 0, 1, 0x42, 0]), good]));
		expect(frames.map(f => f.payload.toString())).toEqual(["ok"]);
		expect(reader.error?.message).toBe("unknown frame kind 66");
		expect(reader.push(good)).toEqual([]);
	});

	it("stop after as many frames as asked, keeping the rest for the next push", () => {
		const reader = new FrameReader(100);
		const first = wire([FrameKind.hello, Buffer.from("{}")]);
		// A frame over the first bound right behind: read only once the bound is raised.
		const next = wire([FrameKind.request, Buffer.alloc(5000, 1)]);
		const frames = reader.push(Buffer.concat([first, next]), 1);
		expect(frames.map(f => f.kind)).toEqual([FrameKind.hello]);
		expect(reader.error).toBeNull();
		reader.maxPayloadBytes = 10_000;
		const rest = reader.push(Buffer.alloc(0));
		expect(rest).toHaveLength(1);
		expect(rest[0].payload.length).toBe(5000);
	});

	it("hold an incomplete header until the rest comes", () => {
		const reader = new FrameReader(1000);
		const frame = wire([FrameKind.welcome, Buffer.from("{}")]);
		expect(reader.push(frame.subarray(0, 3))).toEqual([]);
		expect(reader.bufferedBytes).toBe(3);
		const frames = reader.push(frame.subarray(3));
		expect(frames).toHaveLength(1);
		expect(frames[0].payload.toString()).toBe("{}");
	});
});
