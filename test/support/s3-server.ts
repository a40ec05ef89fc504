/**
 * An S3-compatible server of a test's own (the `s3rver` package) on 127.0.0.1 and a free
 * port, keeping its objects in a temp folder: no network, no credentials of anyone's.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { S3BlobBackendOptions } from "../../lib/artifacts/backends/s3";

// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver") as new (options: object) => {
	run(): Promise<{ port: number }>;
	close(): Promise<void>;
};

export interface S3Server {
	endpoint: string;
	/** Settings for an S3BlobBackend on this server (bucket and prefix to fill in). */
	options(bucket: string, prefix?: string): S3BlobBackendOptions;
	stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
	const directory = fs.mkdtempSync(path.join(os.tmpdir(), "mf-s3rver-"));
	const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory });
	const { port } = await server.run();
	const endpoint = `http://127.0.0.1:${port}`;
	return {
		endpoint,
		options: (bucket, prefix = "") => ({
			bucket,
			prefix,
			endpoint,
			region: "us-east-1",
			// s3rver's fixed test credentials.
			credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
			forcePathStyle: true,
			partBytes: 5 * 1024 * 1024,
		}),
		async stop() {
			await server.close();
			fs.rmSync(directory, { recursive: true, force: true });
		},
	};
}
