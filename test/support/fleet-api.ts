/**
 * What cluster tests do through a gateway again and again: publish a model, deploy it and wait
 * for its replicas, wait for workers to join. Each fails the test with what the gateway said.
 */
import { apiClient } from "./test-node";
import { waitFor } from "./wait";

export interface PublishOptions {
	version?: string;
	framework?: string;
	task?: string;
}

/** Creates model `name` and uploads `bytes` as its version, Validated (deployable). */
export async function publishModel(
	api: string,
	key: string,
	name: string,
	bytes: Uint8Array,
	{ version = "1.0.0", framework = "onnx", task = "classification" }: PublishOptions = {},
): Promise<void> {
	const created = await apiClient(api, key)("/models", {
		method: "POST",
		body: { name, task, framework },
	});
	if (created.status !== 201)
		throw new Error(`creating ${name}: ${created.status} ${JSON.stringify(created.body)}`);
	const uploaded = await fetch(
		`${api}/models/${name}/versions/upload?version=${version}&fileName=m.onnx&state=Validated`,
		{ method: "POST", headers: { authorization: `Bearer ${key}` }, body: bytes },
	);
	if (uploaded.status !== 201)
		throw new Error(
			`uploading ${name}@${version}: ${uploaded.status} ${await uploaded.text()}`,
		);
}

/** Deploys `model@version` with `replicas` and waits until that many replicas are ready. */
export async function deployAndWait(
	api: string,
	key: string,
	model: string,
	{ version = "1.0.0", replicas = 1, timeoutMs = 60_000 } = {},
): Promise<void> {
	const owner = apiClient(api, key);
	const deployed = await owner("/deployments", {
		method: "POST",
		body: { model, version, replicas },
	});
	if (deployed.status !== 201)
		throw new Error(`deploying ${model}: ${deployed.status} ${JSON.stringify(deployed.body)}`);
	await waitFor(
		`${replicas} ready replica(s) of ${model}`,
		async () => {
			const view = (await owner(`/deployments/${model}`)).body as { readyReplicas: number };
			return view.readyReplicas === replicas ? true : undefined;
		},
		timeoutMs,
		250,
	);
}

/** Waits until the gateway at `api` lists every one of `workers` as available. */
export function waitForWorkers(
	api: string,
	key: string,
	workers: readonly string[],
	timeoutMs = 60_000,
): Promise<true> {
	return waitFor(
		`the gateway with ${workers.join(", ")}`,
		async () => {
			const nodes = await apiClient(api, key)("/nodes");
			if (nodes.status !== 200) return undefined;
			const list = nodes.body as Array<{ nodeID: string; available: boolean }>;
			return workers.every(w => list.some(n => n.nodeID === w && n.available))
				? true
				: undefined;
		},
		timeoutMs,
		250,
	);
}
