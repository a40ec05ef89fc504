/**
 * The world the API fuzzer aims at (test/support/fuzz/api-fuzzer.ts), made on a running
 * gateway through its API: keys of each role, a served model, a dataset, a training job, and
 * a second tenant with a model of its own. The null sweep (test/integration/null-as-absent.test.ts)
 * aims at it too. Every request here closes its connection after the answer, so none is left
 * idle in the client's pool for the fuzz run to pick up just as the server times it out
 * (test/support/fuzz/fuzz-runner.ts).
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeOnnxModel } from "../../../lib/onnx/onnx-writer";
import { MLP_SPEC, writeMlpModel } from "../../unit/onnx/example-models";
import { apiClient } from "../test-node";
import type { FuzzWorld } from "./api-fuzzer";

/** Sent with every request of the set-up: no keep-alive connection outlives it. */
export const CLOSE_CONNECTION = { connection: "close" } as const;

/** `apiClient(api, key)`, each request closing its connection. */
function closingClient(api: string, key: string): ReturnType<typeof apiClient> {
	const client = apiClient(api, key);
	return (url, init = {}) =>
		client(url, { ...init, headers: { ...init.headers, ...CLOSE_CONNECTION } });
}

const IRIS = fs.readFileSync(path.join(__dirname, "..", "..", "fixtures", "datasets", "iris.csv"));

export interface FuzzWorldOptions {
	/** More MLPs of the tenant (version 1.0.0, Validated), which the fuzzer never names. */
	extraModels?: readonly string[];
	/**
	 * Whether the world's training job is started (default true); without it `jobId` names no
	 * job, and `model` gets no trained version (its latest stays the MLP).
	 */
	train?: boolean;
}

/** Makes the world on the gateway at `base` (its origin) with the bootstrap owner's key. */
export async function buildFuzzWorld(
	base: string,
	ownerKey: string,
	{ extraModels = [], train = true }: FuzzWorldOptions = {},
): Promise<FuzzWorld> {
	const api = `${base}/api/v1`;
	const owner = closingClient(api, ownerKey);
	const keys: Record<string, string> = {};
	for (const role of ["developer", "predictor", "viewer"]) {
		const created = await owner("/keys", { method: "POST", body: { name: role, role } });
		expect(created.status).toBe(201);
		keys[role] = (created.body as { key: string }).key;
	}
	const other = await owner("/tenants", { method: "POST", body: { name: "fuzz-other" } });
	expect(other.status).toBe(201);
	const otherKey = (other.body as { ownerKey: { key: string } }).ownerKey.key;

	const upload = async (key: string, model: string, bytes: Uint8Array): Promise<void> => {
		const client = closingClient(api, key);
		expect(
			(
				await client("/models", {
					method: "POST",
					body: { name: model, task: "classification", framework: "onnx" },
				})
			).status,
		).toBe(201);
		const response = await fetch(
			`${api}/models/${model}/versions/upload?version=1.0.0&fileName=m.onnx&state=Validated`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${key}`,
					"content-type": "application/octet-stream",
					...CLOSE_CONNECTION,
				},
				body: bytes,
			},
		);
		expect(response.status).toBe(201);
	};
	const ownModel = writeMlpModel();
	await upload(ownerKey, "mlp", ownModel);
	for (const model of extraModels) await upload(ownerKey, model, writeMlpModel());
	// The other tenant's model differs in its producer, so its hash is its own.
	const otherModel = writeOnnxModel({ ...MLP_SPEC, producer: "other-tenant" });
	await upload(otherKey, "bmodel", otherModel);

	const dataset = await fetch(`${api}/datasets?name=iris&labelColumn=label`, {
		method: "POST",
		headers: {
			authorization: `Bearer ${ownerKey}`,
			"content-type": "text/csv",
			...CLOSE_CONNECTION,
		},
		body: IRIS,
	});
	expect(dataset.status).toBe(201);
	const job = train
		? await owner("/training-jobs", {
				method: "POST",
				body: {
					target: "mlp",
					dataset: "iris@1",
					labelColumn: "label",
					epochs: 1,
					seed: 3,
				},
			})
		: null;
	const jobId = job?.status === 201 ? (job.body as { id: string }).id : randomUUID();

	return {
		keys: {
			owner: ownerKey,
			developer: keys.developer,
			predictor: keys.predictor,
			viewer: keys.viewer,
			otherOwner: otherKey,
		},
		model: "mlp",
		version: "1.0.0",
		otherModel: "bmodel",
		dataset: "iris@1",
		jobId,
		ownBlob: createHash("sha256").update(ownModel).digest("hex"),
		otherBlob: createHash("sha256").update(otherModel).digest("hex"),
	};
}
