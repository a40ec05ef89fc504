/**
 * `modelfleet migrate-artifacts`: a control node's local store goes to a JetStream Object
 * Store (a bucket of the test's own) and on to S3 (an s3rver), every blob verified, sealed ones
 * staying sealed; a second run copies nothing, a damaged blob is reported and not copied.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ArtifactStore } from "../../lib/artifacts/artifact-store";
import { ArtifactUploads } from "../../lib/artifacts/artifact-uploads";
import { NatsBlobBackend, S3BlobBackend } from "../../lib/artifacts/backends";
import { MasterKey } from "../../lib/artifacts/encryption/master-key";
import { loadNodeConfig } from "../../lib/config/node-config";
import { migrateArtifacts } from "../../nodes/migrate-artifacts";
import { collect, deterministicBytes, sha256Of } from "../support/artifact-data";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { startS3Server, type S3Server } from "../support/s3-server";

const KEY = Buffer.alloc(32, 3).toString("base64");

describeWithServices(["nats"], "modelfleet migrate-artifacts", () => {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-migrate-"));
	const bucket = `test-migrate-${randomUUID().slice(0, 8)}`;
	const s3Bucket = `migrate-${randomUUID().slice(0, 8)}`;
	let s3: S3Server;
	const env = () => ({
		TRANSPORTER: serviceUrl("nats"),
		MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
		MODELFLEET_DATA_DIR: dataDir,
		MODELFLEET_ENCRYPTION_KEY: KEY,
		MODELFLEET_ARTIFACTS_NATS_BUCKET: bucket,
		MODELFLEET_ARTIFACTS_S3_ENDPOINT: s3.endpoint,
		MODELFLEET_ARTIFACTS_S3_ACCESS_KEY_ID: "S3RVER",
		MODELFLEET_ARTIFACTS_S3_SECRET_ACCESS_KEY: "S3RVER",
		MODELFLEET_ARTIFACTS_S3_PART_BYTES: "5MiB",
	});
	const lines: string[] = [];
	const print = (line: string) => void lines.push(line);

	beforeAll(async () => {
		s3 = await startS3Server();
	});

	afterAll(async () => {
		const config = loadNodeConfig("control", { ...env(), MODELFLEET_ARTIFACTS: "nats" });
		if (config.artifacts.kind === "nats") {
			const nats = new NatsBlobBackend({ ...config.artifacts });
			await nats.open();
			await nats.destroy();
			await nats.close();
		}
		await s3.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("copies every blob local → nats → s3, verified and still sealed, and skips them the second time", async () => {
		const key = MasterKey.parse(KEY);
		const store = new ArtifactStore({
			root: path.join(dataDir, "artifacts"),
			encryptionKey: key,
		});
		await store.open();
		const contents = await Promise.all([
			deterministicBytes(7 * 1024 * 1024, 1),
			deterministicBytes(1000, 2),
			Promise.resolve(Buffer.alloc(0)),
		]);
		const uploads = new ArtifactUploads(store);
		for (const bytes of contents) await uploads.put(Readable.from([bytes]));

		expect(
			(await migrateArtifacts(env(), ["--from", "local", "--to", "nats"], print)).report,
		).toEqual({ copied: 3, alreadyThere: 0, failed: [] });
		const again = await migrateArtifacts(env(), ["--from=local", "--to=nats"], print);
		expect(again).toEqual({ status: 0, report: { copied: 0, alreadyThere: 3, failed: [] } });
		const toS3 = await migrateArtifacts(
			env(),
			["--from", "nats", "--to", `s3://${s3Bucket}/moved`],
			print,
		);
		expect(toS3.report).toEqual({ copied: 3, alreadyThere: 0, failed: [] });

		// A control node with the S3 store and an empty data directory serves every blob.
		const s3Backend = new S3BlobBackend(s3.options(s3Bucket, "moved"));
		const reader = new ArtifactStore(
			{ root: fs.mkdtempSync(path.join(dataDir, "reader-")), encryptionKey: key },
			s3Backend,
		);
		await reader.open();
		for (const bytes of contents) {
			expect((await collect(await reader.read(sha256Of(bytes)))).equals(bytes)).toBe(true);
		}
		const stored = await collect(await s3Backend.get(sha256Of(contents[1])));
		expect(stored.includes(contents[1].subarray(0, 100))).toBe(false); // still sealed
		await reader.close();
	}, 60_000);

	it("reports a blob whose bytes do not match its name and copies nothing of it", async () => {
		const wrong = sha256Of("something else");
		const shard = path.join(dataDir, "artifacts", "sha256", wrong.slice(0, 2));
		fs.mkdirSync(shard, { recursive: true });
		fs.writeFileSync(path.join(shard, wrong), "not what the name says");
		const run = await migrateArtifacts(env(), ["--from", "local", "--to", "nats"], print);
		expect(run.status).toBe(1);
		expect(run.report).toMatchObject({
			copied: 0,
			alreadyThere: 3,
			failed: [{ sha256: wrong, reason: expect.stringMatching(/sha256|corrupt/i) }],
		});
		const config = loadNodeConfig("control", { ...env(), MODELFLEET_ARTIFACTS: "nats" });
		if (config.artifacts.kind !== "nats") throw new Error("not nats");
		const nats = new NatsBlobBackend({ ...config.artifacts });
		await nats.open();
		expect(await nats.stat(wrong)).toBeNull();
		await nats.close();
	});

	it("refuses missing or equal stores, naming the argument", async () => {
		await expect(migrateArtifacts(env(), ["--to", "nats"], print)).rejects.toMatchObject({
			data: { problems: [{ setting: "--from" }] },
		});
		await expect(
			migrateArtifacts(env(), ["--from", "local", "--to", "local"], print),
		).rejects.toMatchObject({ data: { problems: [{ setting: "--to" }] } });
		await expect(
			migrateArtifacts(env(), ["--from", "local", "--to", "s3://X"], print),
		).rejects.toMatchObject({ data: { problems: [{ setting: "--to" }] } });
	});
});
