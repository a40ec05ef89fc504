/**
 * A client process for the artifacts cluster tests, on a broker configured from the
 * environment as every node is:
 *
 *   artifact-client.ts upload <bytes> <seed>              uploads deterministic bytes
 *   artifact-client.ts download <sha256> <destination>    downloads a blob to a file
 *
 * Prints one line "ARTIFACT-CLIENT RESULT {json}": what the helper answered, the time it took
 * and this process's peak RSS growth during the transfer; exits 1 on failure.
 */
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import { downloadArtifact } from "../../lib/artifacts/artifact-download";
import { ARTIFACTS_SERVICE } from "../../lib/artifacts/artifact-protocol";
import { uploadArtifact } from "../../lib/artifacts/artifact-upload";
import { deterministicStream } from "./artifact-data";
import { RssSampler } from "./artifact-memory";

/** ARTIFACT_PART_BYTES overrides the helpers' part size (to compare sizes by hand). */
const partOptions = process.env.ARTIFACT_PART_BYTES
	? { partBytes: Number(process.env.ARTIFACT_PART_BYTES) }
	: {};

async function main(): Promise<Record<string, unknown>> {
	const [mode, first, second] = process.argv.slice(2);
	const broker = new ServiceBroker(createBrokerOptions(loadNodeConfig("worker", process.env)));
	await broker.start();
	await broker.waitForServices([ARTIFACTS_SERVICE], 15_000);
	const call = broker.call.bind(broker);
	const memory = new RssSampler();
	const startedAt = Date.now();
	try {
		if (mode === "upload") {
			// The sender's own hash of what it generated: the test compares it with the store's.
			const hash = createHash("sha256");
			const hashing = new Transform({
				transform(chunk: Buffer, _encoding, done) {
					hash.update(chunk);
					done(null, chunk);
				},
			});
			const source = deterministicStream(Number(first), Number(second)).pipe(hashing);
			const stored = await uploadArtifact(call, source, partOptions);
			return {
				stored,
				sentSha256: hash.digest("hex"),
				elapsedMs: Date.now() - startedAt,
				memory: memory.figures(),
			};
		}
		if (mode === "download") {
			const downloaded = await downloadArtifact(call, first, second, partOptions);
			return { downloaded, elapsedMs: Date.now() - startedAt, memory: memory.figures() };
		}
		throw new Error(`unknown mode "${mode}": upload <bytes> <seed> | download <sha256> <file>`);
	} finally {
		await broker.stop();
	}
}

main().then(
	result => {
		console.log(`ARTIFACT-CLIENT RESULT ${JSON.stringify(result)}`);
		process.exit(0);
	},
	(err: unknown) => {
		console.error("ARTIFACT-CLIENT FAILED", err);
		process.exit(1);
	},
);
