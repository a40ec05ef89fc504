/**
 * The "done when" for S3: a 300 MB blob goes into an S3-compatible server (s3rver,
 * started here) as a multipart upload from a process running the artifact store, whose
 * resident memory grows by less than 150 MB meanwhile; the object read back hashes to the
 * blob's name.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { S3BlobBackend } from "../../lib/artifacts/backends/s3";
import type { StoredArtifact } from "../../lib/artifacts/artifact-protocol";
import { deterministicStream, sha256OfStream } from "../support/artifact-data";
import type { RssFigures } from "../support/artifact-memory";
import { ArtifactProcess } from "../support/artifact-process";
import { startS3Server, type S3Server } from "../support/s3-server";

const SIZE = 300 * 1000 * 1000;
const RSS_LIMIT = 150 * 1000 * 1000;
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1) + " MB";

describe("a 300 MB blob into S3", () => {
	let s3: S3Server;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-s3-large-"));
	let child: ArtifactProcess | null = null;

	beforeAll(async () => {
		s3 = await startS3Server();
	});

	afterAll(async () => {
		child?.kill("SIGKILL");
		await child?.exited;
		await s3.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("goes up in parts while the storing process grows < 150 MB in RSS, and reads back intact", async () => {
		const bucket = `large-${randomUUID().slice(0, 8)}`;
		const expected = sha256OfStream(deterministicStream(SIZE, 42));
		child = ArtifactProcess.start("s3-upload", "s3-upload-node.ts", [String(SIZE), "42"], {
			S3_ENDPOINT: s3.endpoint,
			S3_BUCKET: bucket,
			MODELFLEET_DATA_DIR: dataDir,
		});
		const result = await child.json<{
			stored: StoredArtifact;
			elapsedMs: number;
			memory: RssFigures;
		}>("S3-UPLOAD RESULT", 150_000);
		const { sha256 } = await expected;
		expect(result.stored).toEqual({ sha256, size: SIZE, created: true });

		const backend = new S3BlobBackend({ ...s3.options(bucket, "large") });
		try {
			expect(await backend.stat(sha256)).toMatchObject({ size: SIZE, storedBytes: SIZE });
			expect(await sha256OfStream(await backend.get(sha256))).toEqual({ sha256, size: SIZE });
		} finally {
			await backend.close();
		}
		console.log(
			`300 MB multipart upload to S3 (8 MiB parts): ${result.elapsedMs} ms; peak RSS growth ${mb(result.memory.growthBytes)}`,
		);
		expect({
			growth: mb(result.memory.growthBytes),
			under150MB: result.memory.growthBytes < RSS_LIMIT,
		}).toEqual({ growth: mb(result.memory.growthBytes), under150MB: true });
	}, 180_000);
});
