import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { artifactReadStream } from "../../../lib/artifacts/artifact-read-stream";
import type { ArtifactCall, GetParams } from "../../../lib/artifacts/artifact-protocol";

const BLOB = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
const SHA = createHash("sha256").update(BLOB).digest("hex");

/** A fake artifacts service over `bytes`; it records each `get` and its options. */
function fakeStore(bytes: Buffer) {
	const gets: { params: GetParams; nodeID?: string }[] = [];
	const call: ArtifactCall = (_action, params, options) => {
		const p = params as GetParams;
		gets.push({ params: p, nodeID: options?.nodeID });
		const start = p.offset ?? 0;
		return Promise.resolve(
			Readable.from([bytes.subarray(start, start + (p.length ?? bytes.length))]),
		);
	};
	return { call, gets };
}

async function readAll(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

describe("artifactReadStream", () => {
	it("reads a blob in parts, in order, from the node that holds it", async () => {
		const store = fakeStore(BLOB);
		const read = artifactReadStream(store.call, SHA, {
			size: BLOB.length,
			partBytes: 300,
			nodeID: "control-1",
		});
		expect((await readAll(read)).equals(BLOB)).toBe(true);
		expect(store.gets.map(g => [g.params.offset, g.params.length, g.nodeID])).toEqual([
			[0, 300, "control-1"],
			[300, 300, "control-1"],
			[600, 300, "control-1"],
			[900, 100, "control-1"],
		]);
	});

	it("reads a range by offset", async () => {
		const store = fakeStore(BLOB);
		const read = artifactReadStream(store.call, SHA, {
			size: BLOB.length,
			offset: 250,
			length: 100,
			partBytes: 64,
		});
		expect((await readAll(read)).equals(BLOB.subarray(250, 350))).toBe(true);
	});

	it("asks for a part only when the reader wants more", async () => {
		const big = Buffer.alloc(4 * 1024 * 1024, 7);
		const store = fakeStore(big);
		const read = artifactReadStream(store.call, "c".repeat(64), {
			size: big.length,
			partBytes: 16 * 1024,
		});
		await new Promise(resolve => setTimeout(resolve, 20));
		expect(store.gets).toEqual([]);
		const iterator = read[Symbol.asyncIterator]();
		await iterator.next();
		await new Promise(resolve => setTimeout(resolve, 20));
		// The stream's buffer holds about its high-water mark (64 KiB): not the 256 parts.
		expect(store.gets.length).toBeLessThanOrEqual(8);
		read.destroy();
	});

	it("ends with ARTIFACT_CORRUPT when the bytes are not the blob's", async () => {
		const changed = Buffer.from(BLOB);
		changed[500] ^= 1;
		const read = artifactReadStream(fakeStore(changed).call, SHA, {
			size: BLOB.length,
			partBytes: 300,
		});
		await expect(readAll(read)).rejects.toMatchObject({ type: "ARTIFACT_CORRUPT" });
		const short = artifactReadStream(fakeStore(BLOB.subarray(0, 900)).call, SHA, {
			size: BLOB.length,
			partBytes: 300,
		});
		await expect(readAll(short)).rejects.toMatchObject({ type: "ARTIFACT_CORRUPT" });
	});
});
