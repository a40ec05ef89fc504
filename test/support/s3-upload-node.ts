/**
 * A process that stores one large generated blob through an artifact store on the S3 backend,
 * as a control node does with an upload: `s3-upload-node.ts <bytes> <seed>` with S3_ENDPOINT,
 * S3_BUCKET and MODELFLEET_DATA_DIR set. Prints "S3-UPLOAD RESULT {json}": what the store
 * answered, the time, and its peak RSS growth while it ran (sampled every 50 ms).
 */
import * as path from "node:path";
import { ArtifactStore } from "../../lib/artifacts/artifact-store";
import { ArtifactUploads } from "../../lib/artifacts/artifact-uploads";
import { S3BlobBackend, S3_DEFAULT_PART_BYTES } from "../../lib/artifacts/backends/s3";
import { RssSampler } from "./artifact-memory";
import { deterministicStream } from "./artifact-data";

async function main(): Promise<void> {
	const [size, seed] = process.argv.slice(2).map(Number);
	const backend = new S3BlobBackend({
		bucket: process.env.S3_BUCKET ?? "",
		prefix: "large",
		endpoint: process.env.S3_ENDPOINT ?? "",
		region: "us-east-1",
		credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
		forcePathStyle: true,
		partBytes: S3_DEFAULT_PART_BYTES,
	});
	const store = new ArtifactStore(
		{
			root: path.join(process.env.MODELFLEET_DATA_DIR ?? "", "artifacts"),
			maxBytes: 2 * 1024 ** 3,
		},
		backend,
	);
	await store.open();
	const memory = new RssSampler();
	memory.reset();
	const started = Date.now();
	const stored = await new ArtifactUploads(store).put(deterministicStream(size, seed));
	const elapsedMs = Date.now() - started;
	const figures = memory.figures();
	memory.stop();
	await store.close();
	console.log(`S3-UPLOAD RESULT ${JSON.stringify({ stored, elapsedMs, memory: figures })}`);
}

main().catch((err: unknown) => {
	console.error("S3-UPLOAD FAILED", err);
	process.exit(1);
});
