/**
 * Blobs are tenant-scoped (issue 11): tenant B tries every route and action that takes a hash
 * with tenant A's uploaded model, A's dataset, A's trained model, its kept TF.js export and its
 * checkpoint, and with a hash nobody stored. Every answer must be the unknown hash's answer
 * (404, same type, same message but for the hash); B uploading A's exact bytes hears what a
 * first upload hears. On PGlite, and on PostgreSQL when it answers.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import type { RequestMeta } from "../../lib/accounts/access";
import type { JobView } from "../../lib/scheduler/job-store";
import type { VersionView } from "../../lib/registry/version-store";
import { metaFor } from "../support/control-broker";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import {
	FAST_LOOPS_CPU_ONLY,
	apiClient,
	startTestNode,
	type TestNode,
	type TestReply,
} from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const A_KEY = "mf_artifact-tenancy-owner-a";
const IRIS = fs.readFileSync(path.join(__dirname, "..", "fixtures", "datasets", "iris.csv"));
const SCHEMA = {
	inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
	outputs: [{ name: "y", datatype: "FP32", shape: [-1, 3] }],
};

/** An answer with the hash it names replaced, so answers for different hashes compare. */
interface Answer {
	status: number;
	body: unknown;
}

function sha256Of(bytes: Uint8Array): string {
	return createHash("sha256").update(bytes).digest("hex");
}

function withoutHash(answer: Answer, hash: string): Answer {
	return JSON.parse(JSON.stringify(answer).split(hash).join("<hash>")) as Answer;
}

function replyAnswer(reply: TestReply): Answer {
	return { status: reply.status, body: reply.body };
}

/** A bus call's outcome as an answer: the error's code, type, message and data, or 200. */
async function callAnswer(call: () => Promise<unknown>): Promise<Answer> {
	try {
		const result = await call();
		(result as Readable | null)?.destroy?.();
		return { status: 200, body: null };
	} catch (err) {
		const { code, type, message, data } = err as {
			code: number;
			type: string;
			message: string;
			data: unknown;
		};
		return { status: code, body: { type, message, data } };
	}
}

function tenancyTests(env: () => Record<string, string>): void {
	let testNode: TestNode;
	let asA: ReturnType<typeof apiClient>;
	let asB: ReturnType<typeof apiClient>;
	let bKey: string;
	let bMeta: RequestMeta;
	/** Tenant A's blobs by what they are. */
	const foreign: Record<string, string> = {};
	const unknown = sha256Of(randomBytes(64));

	beforeAll(async () => {
		testNode = await startTestNode(A_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			...env(),
		});
		asA = apiClient(testNode.api, A_KEY);
		const b = await asA("/tenants", { method: "POST", body: { name: "tenant-b" } });
		expect(b.status).toBe(201);
		bKey = (b.body as { ownerKey: { key: string } }).ownerKey.key;
		asB = apiClient(testNode.api, bKey);
		bMeta = await metaFor(testNode.node.broker, bKey);

		for (const [client, name] of [
			[asA, "amodel"],
			[asA, "atrained"],
			[asB, "bmodel"],
		] as const) {
			const created = await client("/models", {
				method: "POST",
				body: { name, task: "classification", framework: "onnx" },
			});
			expect(created.status).toBe(201);
		}
		// A's uploaded model and dataset.
		const model = await fetch(`${testNode.api}/models/amodel/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: { authorization: `Bearer ${A_KEY}` },
			body: writeMlpModel(),
		});
		expect(model.status).toBe(201);
		foreign.model = ((await model.json()) as VersionView).artifact!.sha256;
		const dataset = await fetch(`${testNode.api}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${A_KEY}`, "content-type": "text/csv" },
			body: IRIS,
		});
		expect(dataset.status).toBe(201);
		foreign.dataset = ((await dataset.json()) as { sha256: string }).sha256;
		// A's trained model, its TF.js export and its checkpoint: blobs made for A by a trainer.
		const queued = await asA("/training-jobs", {
			method: "POST",
			body: {
				target: "atrained",
				dataset: "iris",
				labelColumn: "label",
				epochs: 2,
				seed: 3,
				checkpointEvery: 1,
			},
		});
		expect(queued.status).toBe(201);
		const done = await waitFor(
			"A's training job",
			async () => {
				const job = (await asA(`/training-jobs/${(queued.body as JobView).id}`))
					.body as JobView;
				if (job.state === "failed") throw new Error(`training failed: ${job.error}`);
				return job.state === "completed" && job.checkpoint ? job : undefined;
			},
			60_000,
		);
		foreign.checkpoint = done.checkpoint!.sha256;
		const trained = (await asA(`/models/atrained/versions/${String(done.result!.version)}`))
			.body as VersionView & {
			details: { alternates: { artifact: { sha256: string } }[] };
		};
		foreign.trained = trained.artifact!.sha256;
		foreign.trainedExport = trained.details.alternates[0].artifact.sha256;
		expect(new Set(Object.values(foreign)).size).toBe(5);
	}, 120_000);

	afterAll(() => testNode?.stop());

	/** Every route and fleet action that takes a hash, as tenant B. */
	const PROBES: Record<string, (hash: string) => Promise<Answer>> = {
		"POST /models/bmodel/versions/import": async hash =>
			replyAnswer(
				await asB("/models/bmodel/versions/import", {
					method: "POST",
					body: { artifact: hash, version: "1.0.2" },
				}),
			),
		"POST /models/bmodel/versions with artifact": async hash =>
			replyAnswer(
				await asB("/models/bmodel/versions", {
					method: "POST",
					body: {
						version: "1.0.3",
						format: "onnx",
						schema: SCHEMA,
						artifact: { sha256: hash, size: 1234 },
					},
				}),
			),
		"POST /models/bmodel/versions with an alternate": async hash =>
			replyAnswer(
				await asB("/models/bmodel/versions", {
					method: "POST",
					body: {
						version: "1.0.4",
						format: "onnx",
						schema: SCHEMA,
						details: {
							alternates: [{ format: "tfjs", artifact: { sha256: hash, size: 1 } }],
						},
					},
				}),
			),
		"GET /datasets/{sha256}": async hash => replyAnswer(await asB(`/datasets/${hash}`)),
		"POST /training-jobs": async hash =>
			replyAnswer(
				await asB("/training-jobs", {
					method: "POST",
					body: { target: "bmodel", dataset: hash, labelColumn: "label" },
				}),
			),
		"artifacts.stat": hash =>
			callAnswer(() =>
				testNode.node.broker.call("artifacts.stat", { sha256: hash }, { meta: bMeta }),
			),
		"artifacts.get": hash =>
			callAnswer(() =>
				testNode.node.broker.call("artifacts.get", { sha256: hash }, { meta: bMeta }),
			),
		"registry.versions.import": hash =>
			callAnswer(() =>
				testNode.node.broker.call(
					"registry.versions.import",
					{ model: "bmodel", artifact: hash, version: "1.0.5" },
					{ meta: bMeta },
				),
			),
		"registry.datasets.create": hash =>
			callAnswer(() =>
				testNode.node.broker.call(
					"registry.datasets.create",
					{
						name: "stolen",
						sha256: hash,
						size: 10,
						format: "csv",
						labelColumn: "label",
						rows: 150,
						report: {},
					},
					{ meta: bMeta },
				),
			),
	};

	it("answers tenant B for each of A's hashes exactly as for a hash nobody stored: 404", async () => {
		const observed: string[] = [];
		const expected: string[] = [];
		for (const [probe, send] of Object.entries(PROBES)) {
			const baseline = withoutHash(await send(unknown), unknown);
			expect(`${probe}: ${baseline.status}`).toBe(`${probe}: 404`);
			for (const [what, hash] of Object.entries(foreign)) {
				const answer = withoutHash(await send(hash), hash);
				observed.push(`${probe} with A's ${what}: ${JSON.stringify(answer)}`);
				expected.push(`${probe} with A's ${what}: ${JSON.stringify(baseline)}`);
			}
		}
		expect(observed).toEqual(expected);
		// Nothing of A's reached B.
		const versions = (await asB("/models/bmodel/versions")).body as { items: unknown[] };
		expect(versions.items).toEqual([]);
		const datasets = (await asB("/datasets")).body as { items: unknown[] };
		expect(datasets.items).toEqual([]);
	});

	it("lets A use its own blobs by hash", async () => {
		const imported = await asA("/models/amodel/versions/import", {
			method: "POST",
			body: { artifact: foreign.model, version: "1.0.1" },
		});
		expect(imported.status).toBe(201);
		const aMeta = await metaFor(testNode.node.broker, A_KEY);
		const stat = await callAnswer(() =>
			testNode.node.broker.call(
				"artifacts.stat",
				{ sha256: foreign.checkpoint },
				{ meta: aMeta },
			),
		);
		expect(stat.status).toBe(200);
	});

	it("answers B's upload of A's exact bytes as a first upload, and lets B use its own copy", async () => {
		const fresh = randomBytes(300);
		const first = await fetch(`${testNode.api}/artifacts`, {
			method: "POST",
			headers: { authorization: `Bearer ${bKey}` },
			body: fresh,
		});
		const firstBody = (await first.json()) as Record<string, unknown>;
		const bytes = Buffer.from(writeMlpModel());
		const upload = (key: string) =>
			fetch(`${testNode.api}/artifacts`, {
				method: "POST",
				headers: { authorization: `Bearer ${key}` },
				body: bytes,
			});
		const copied = await upload(bKey);
		const copiedBody = (await copied.json()) as Record<string, unknown>;
		expect({ status: copied.status, body: copiedBody }).toEqual({
			status: first.status,
			body: { ...firstBody, sha256: foreign.model, size: bytes.length },
		});
		expect(copiedBody).toEqual({ sha256: foreign.model, size: bytes.length, created: true });
		// Again: now B holds it.
		const again = await upload(bKey);
		expect(again.status).toBe(200);
		expect(await again.json()).toMatchObject({ created: false });
		// A's own second upload is told the same.
		expect((await upload(A_KEY)).status).toBe(200);

		const imported = await asB("/models/bmodel/versions/import", {
			method: "POST",
			body: { artifact: foreign.model, version: "1.0.0" },
		});
		expect(imported.status).toBe(201);

		const dataset = await fetch(`${testNode.api}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${bKey}`, "content-type": "text/csv" },
			body: IRIS,
		});
		expect(dataset.status).toBe(201);
		expect(await dataset.json()).toMatchObject({ name: "iris", version: 1 });
	});

	it("quotes nothing of a file it cannot import as a model", async () => {
		const dataset = await fetch(`${testNode.api}/models/bmodel/versions/upload?version=3.0.0`, {
			method: "POST",
			headers: { authorization: `Bearer ${bKey}`, "content-type": "text/csv" },
			body: IRIS,
		});
		expect(dataset.status).toBe(400);
		const text = JSON.stringify(await dataset.json());
		expect(text).not.toMatch(/sepal|73 65 70/);
	});
}

describe("artifact tenancy (PGlite)", () => {
	tenancyTests(() => ({}));
});

// The node (inner block) stops before its database is dropped (outer block).

describeWithServices(["postgres"], "artifact tenancy (PostgreSQL)", () => {
	let url = "";
	let drop: (() => Promise<void>) | undefined;
	beforeAll(async () => {
		const created = await createPostgresDatabase();
		url = created.url;
		drop = created.drop;
	});
	afterAll(async () => {
		await drop?.();
	});
	describe("on its own database", () => tenancyTests(() => ({ DATABASE_URL: url })));
});
