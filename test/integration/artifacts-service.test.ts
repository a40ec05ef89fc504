/** The artifacts service in a real broker: its actions, errors and events, in one process and over NATS. */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ServiceBroker, type CallingOptions, type Context } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import { EVENTS, type ArtifactStoredPayload } from "../../lib/events";
import { downloadArtifact } from "../../lib/artifacts/artifact-download";
import type { ArtifactStat, GcReport, StoredArtifact } from "../../lib/artifacts/artifact-protocol";
import { uploadArtifact } from "../../lib/artifacts/artifact-upload";
import { artifactsService, type ArtifactsServiceOptions } from "../../services/artifacts.service";
import {
	collect,
	deterministicBytes,
	deterministicStream,
	listFiles,
	sha256Of,
	sha256OfFile,
	sha256OfStream,
} from "../support/artifact-data";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";

const MiB = 1024 * 1024;

/** `broker.call`, typed for these tests and usable as the helpers' ArtifactCall. */
function callOn(broker: ServiceBroker) {
	return <T = unknown>(action: string, params: object = {}, options?: CallingOptions) =>
		broker.call<T, object>(action, params, options);
}

/** A service that records every `artifact.stored` it hears. */
function storedListener(heard: ArtifactStoredPayload[]) {
	return {
		name: "artifact-listener",
		events: {
			[EVENTS.artifactStored](ctx: Context<ArtifactStoredPayload>) {
				heard.push(ctx.params);
			},
		},
	};
}

describe("the artifacts service in one process", () => {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifacts-service-"));
	const heard: ArtifactStoredPayload[] = [];
	let referenced: string[] = [];
	let referencesFail = false;
	const broker = new ServiceBroker({ logger: false });
	const call = callOn(broker);

	function options(extra: Partial<ArtifactsServiceOptions> = {}): ArtifactsServiceOptions {
		return {
			dataDir,
			maxArtifactBytes: 4 * MiB,
			artifactGcIntervalS: 0,
			artifactGcGraceS: 0,
			referencedArtifacts: async () => {
				if (referencesFail) throw new Error("registry down");
				return referenced;
			},
			...extra,
		};
	}

	beforeAll(async () => {
		broker.createService(artifactsService(options()));
		broker.createService(storedListener(heard));
		await broker.start();
	});

	afterAll(async () => {
		await broker.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	beforeEach(() => {
		heard.length = 0;
	});

	it("stores a stream under <dataDir>/artifacts and emits artifact.stored once", async () => {
		const bytes = await deterministicBytes(100_000, 11);
		const sha256 = sha256Of(bytes);
		const first = await call<StoredArtifact>(
			"artifacts.put",
			{},
			{ stream: Readable.from([bytes]) },
		);
		expect(first).toEqual({ sha256, size: 100_000, created: true });
		expect(
			fs.existsSync(path.join(dataDir, "artifacts", "sha256", sha256.slice(0, 2), sha256)),
		).toBe(true);
		const again = await call("artifacts.put", {}, { stream: Readable.from([bytes]) });
		expect(again).toEqual({ sha256, size: 100_000, created: false });
		expect(heard).toEqual([{ sha256, size: 100_000 }]);
	});

	it("answers stat with size, times and the node, and streams the blob back with get", async () => {
		const { sha256 } = await call<StoredArtifact>(
			"artifacts.put",
			{},
			{ stream: deterministicStream(300_000, 12) },
		);
		const stat = await call<ArtifactStat>("artifacts.stat", { sha256: `sha256:${sha256}` });
		expect(stat).toEqual({
			sha256,
			size: 300_000,
			createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			lastStoredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			nodeID: broker.nodeID,
		});
		const whole = await call<Readable>("artifacts.get", { sha256 });
		expect(await sha256OfStream(whole)).toEqual({ sha256, size: 300_000 });
		const range = await call<Readable>("artifacts.get", { sha256, offset: 1000, length: 10 });
		expect(await collect(range)).toEqual(
			(await deterministicBytes(300_000, 12)).subarray(1000, 1010),
		);
	});

	it("answers 404 NOT_FOUND for stat and get of an unknown hash", async () => {
		for (const action of ["artifacts.stat", "artifacts.get"]) {
			await expect(call(action, { sha256: "c".repeat(64) })).rejects.toMatchObject({
				name: "NotFoundError",
				code: 404,
				type: "NOT_FOUND",
			});
		}
	});

	it("refuses a put without a stream with 400, and malformed params with a validation error", async () => {
		await expect(call("artifacts.put", {})).rejects.toMatchObject({
			code: 400,
			type: "INVALID_INPUT",
		});
		await expect(call("artifacts.stat", { sha256: "xyz" })).rejects.toMatchObject({
			name: "ValidationError",
		});
	});

	it("refuses a blob over maxArtifactBytes with 413 and keeps nothing", async () => {
		await expect(
			call("artifacts.put", {}, { stream: deterministicStream(5 * MiB) }),
		).rejects.toMatchObject({ code: 413, type: "PAYLOAD_TOO_LARGE" });
		expect(listFiles(path.join(dataDir, "artifacts", "tmp"))).toEqual([]);
	});

	it("keeps nothing on an expectedSha256 mismatch", async () => {
		const before = listFiles(dataDir);
		await expect(
			call(
				"artifacts.put",
				{ expectedSha256: "d".repeat(64) },
				{ stream: deterministicStream(1000, 13) },
			),
		).rejects.toMatchObject({ type: "ARTIFACT_CORRUPT", retryable: true });
		expect(listFiles(dataDir)).toEqual(before);
		expect(heard).toEqual([]);
	});

	it("moves a blob through the part-by-part helpers", async () => {
		const stored = await uploadArtifact(call, deterministicStream(3 * MiB, 14), {
			partBytes: MiB,
		});
		expect(stored).toMatchObject({ size: 3 * MiB, created: true });
		const destination = path.join(dataDir, "downloaded", "blob");
		await downloadArtifact(call, stored.sha256, destination, { partBytes: MiB });
		expect(await sha256OfFile(destination)).toEqual({ sha256: stored.sha256, size: 3 * MiB });
	});

	it("gc deletes what nothing references, keeps what is referenced, and can be dry", async () => {
		const keep = await call<StoredArtifact>(
			"artifacts.put",
			{},
			{ stream: deterministicStream(10, 15) },
		);
		const drop = await call<StoredArtifact>(
			"artifacts.put",
			{},
			{ stream: deterministicStream(10, 16) },
		);
		const everything = (await call<GcReport>("artifacts.gc", { dryRun: true })).deleted.map(
			d => d.sha256,
		);
		referenced = everything.filter(sha => sha !== drop.sha256);
		expect(everything).toContain(drop.sha256);
		await new Promise(resolve => setTimeout(resolve, 5));
		const report = await call<GcReport>("artifacts.gc", {});
		expect(report.deleted).toEqual([{ sha256: drop.sha256, size: 10 }]);
		await expect(call("artifacts.stat", { sha256: keep.sha256 })).resolves.toBeTruthy();
		await expect(call("artifacts.stat", { sha256: drop.sha256 })).rejects.toMatchObject({
			code: 404,
		});
	});

	it("gc deletes nothing when the references cannot be read", async () => {
		referencesFail = true;
		try {
			const report = await call<GcReport>("artifacts.gc", {});
			expect(report.skipped).toContain("registry down");
			expect(report.deleted).toEqual([]);
		} finally {
			referencesFail = false;
		}
	});
});

describe("the artifacts service without a reference provider", () => {
	it("never collects, and says why", async () => {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifacts-noref-"));
		const broker = new ServiceBroker({ logger: false });
		broker.createService(
			artifactsService({
				dataDir,
				maxArtifactBytes: MiB,
				artifactGcIntervalS: 0,
				artifactGcGraceS: 0,
			}),
		);
		await broker.start();
		try {
			await broker.call("artifacts.put", {}, { stream: deterministicStream(10) });
			const report = await callOn(broker)<GcReport>("artifacts.gc");
			expect(report.skipped).toMatch(/no provider/);
			expect(listFiles(path.join(dataDir, "artifacts", "sha256"))).toHaveLength(1);
		} finally {
			await broker.stop();
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	});
});

describeWithServices(["nats"], "the artifacts service over NATS", () => {
	const namespace = `artifacts-it-${randomUUID().slice(0, 8)}`;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifacts-nats-"));
	const env = {
		TRANSPORTER: serviceUrl("nats"),
		MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
		MODELFLEET_NAMESPACE: namespace,
		METRICS_PORT: "off",
		LOG_LEVEL: "error",
	};
	const control = new ServiceBroker(
		createBrokerOptions(
			loadNodeConfig("control", { ...env, MODELFLEET_NODE_ID: "control-it" }),
		),
	);
	const client = new ServiceBroker(
		createBrokerOptions(loadNodeConfig("worker", { ...env, MODELFLEET_NODE_ID: "worker-it" })),
	);
	const call = callOn(client);
	const heard: ArtifactStoredPayload[] = [];

	beforeAll(async () => {
		control.createService(
			artifactsService({
				dataDir,
				maxArtifactBytes: 24 * MiB,
				artifactGcIntervalS: 0,
				artifactGcGraceS: 3600,
			}),
		);
		client.createService(storedListener(heard));
		await Promise.all([control.start(), client.start()]);
		await client.waitForServices(["artifacts"], 10_000);
		await control.waitForServices(["artifact-listener"], 10_000);
	});

	afterAll(async () => {
		await Promise.all([client.stop(), control.stop()]);
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("uploads and downloads 20 MiB in parts, intact, and the other node hears artifact.stored", async () => {
		const stored = await uploadArtifact(call, deterministicStream(20 * MiB, 21));
		expect(stored).toMatchObject({ size: 20 * MiB, created: true });
		const destination = path.join(dataDir, "worker", "blob");
		await downloadArtifact(call, stored.sha256, destination);
		expect(await sha256OfFile(destination)).toEqual({ sha256: stored.sha256, size: 20 * MiB });
		expect(await sha256OfStream(deterministicStream(20 * MiB, 21))).toEqual({
			sha256: stored.sha256,
			size: 20 * MiB,
		});
		await waitUntil(() => heard.some(h => h.sha256 === stored.sha256));
	});

	it("takes a plain one-stream put and get across the transporter", async () => {
		const bytes = await deterministicBytes(MiB + 7, 22);
		const stored = await call<StoredArtifact>(
			"artifacts.put",
			{ expectedSha256: sha256Of(bytes) },
			{ stream: Readable.from([bytes]) },
		);
		expect(stored).toEqual({ sha256: sha256Of(bytes), size: MiB + 7, created: true });
		const back = await call<Readable>("artifacts.get", { sha256: stored.sha256 });
		expect(await sha256OfStream(back)).toEqual({ sha256: stored.sha256, size: MiB + 7 });
	});

	it("carries 413, 404 and ARTIFACT_CORRUPT across with their type, and keeps nothing", async () => {
		await expect(uploadArtifact(call, deterministicStream(30 * MiB, 23))).rejects.toMatchObject(
			{
				name: "PayloadTooLargeError",
				code: 413,
				type: "PAYLOAD_TOO_LARGE",
			},
		);
		await expect(call("artifacts.stat", { sha256: "a".repeat(64) })).rejects.toMatchObject({
			name: "NotFoundError",
			code: 404,
		});
		await expect(
			uploadArtifact(call, deterministicStream(1000, 24), { expectedSha256: "b".repeat(64) }),
		).rejects.toMatchObject({ name: "ArtifactCorruptError", type: "ARTIFACT_CORRUPT" });
		await waitUntil(() => listFiles(path.join(dataDir, "artifacts", "tmp")).length === 0);
		// The node goes on serving after a refused upload.
		await expect(uploadArtifact(call, deterministicStream(1000, 25))).resolves.toMatchObject({
			created: true,
		});
	});
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error("condition not met in time");
		await new Promise(resolve => setTimeout(resolve, 20));
	}
}
