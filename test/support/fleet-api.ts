/**
 * What cluster tests do through a gateway again and again: publish a model, deploy it and wait
 * for its replicas, wait for workers to join. All through the REST client (lib/client), whose
 * errors carry what the gateway said.
 */
import { ModelfleetClient, type FleetNode, type Page } from "../../lib/client";
import { waitFor } from "./wait";

export interface PublishOptions {
	version?: string;
	framework?: string;
	task?: string;
}

/** A REST client of the gateway at `api` (its root or its `/api/v1` URL) acting with `key`. */
export function fleetClient(api: string, key: string): ModelfleetClient {
	return new ModelfleetClient({ url: api, apiKey: key });
}

/** Creates model `name` and uploads `bytes` as its version, Validated (deployable). */
export async function publishModel(
	api: string,
	key: string,
	name: string,
	bytes: Uint8Array,
	{ version = "1.0.0", framework = "onnx", task = "classification" }: PublishOptions = {},
): Promise<void> {
	const client = fleetClient(api, key);
	await client.createModel({ name, task, framework }).catch((err: Error) => {
		throw new Error(`creating ${name}: ${err.message}`);
	});
	await client
		.uploadVersion(name, { bytes }, { version, fileName: "m.onnx", state: "Validated" })
		.catch((err: Error) => {
			throw new Error(`uploading ${name}@${version}: ${err.message}`);
		});
}

/** Deploys `model@version` with `replicas` and waits until that many replicas are ready. */
export async function deployAndWait(
	api: string,
	key: string,
	model: string,
	{ version = "1.0.0", replicas = 1, timeoutMs = 60_000 } = {},
): Promise<void> {
	const client = fleetClient(api, key);
	await client.createDeployment({ model, version, replicas }).catch((err: Error) => {
		throw new Error(`deploying ${model}: ${err.message}`);
	});
	await waitFor(
		`${replicas} ready replica(s) of ${model}`,
		async () => {
			const view = await client.getDeployment(model);
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
	const client = fleetClient(api, key);
	return waitFor(
		`the gateway with ${workers.join(", ")}`,
		async () => {
			const nodes = await client.listNodes().catch(() => undefined);
			if (!nodes) return undefined;
			const list: FleetNode[] = Array.isArray(nodes)
				? nodes
				: (nodes as Page<FleetNode>).items;
			return workers.every(w => list.some(n => n.nodeID === w && n.available))
				? true
				: undefined;
		},
		timeoutMs,
		250,
	);
}
