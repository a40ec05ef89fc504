/**
 * Triton's model repository load and unload, mapped onto the fleet. Loading a model means a
 * deployment serves it: one replica of the version asked for (or the latest Validated or
 * Deployed one) is created, or the model's deployment is switched to that version, and the
 * answer waits (bounded) until a replica is ready. A load with model files first publishes them
 * as versions of the tenant's model (creating the model when it has none). Unloading deletes the
 * deployment.
 */
import { createHash } from "node:crypto";
import * as semver from "semver";
import { AlreadyExistsError, ModelLoadError, StateConflictError } from "../../errors";
import type { BatchingOptions } from "../../batching/batching-options";
import type { ModelFormat } from "../../model-spec/model-schema";
import type { VersionView } from "../../registry/version-store";
import type { UpdateDeploymentParams } from "../../scheduler/deployment-spec";
import type { DeploymentView } from "../../scheduler/deployment-store";
import type { RepositoryLoadRequest } from "./load-request";
import { isAlreadyExists, isNotFound, type RepositoryPort } from "./repository-port";
import type { ConfigBatching, TritonLoadConfig } from "./triton-model-config";
import { versionFile } from "./version-files";

/** A model's state as the extension reports it (Triton's names). */
export interface RepositoryModelState {
	name: string;
	version?: string;
	state: "READY" | "LOADING" | "UNAVAILABLE";
	reason: string;
}

export interface RepositoryLoadOptions {
	/** How long a load waits for a ready replica before answering 503, ms. */
	timeoutMs: number;
	/** How often it looks, ms. Default 200. */
	intervalMs?: number;
	now?: () => number;
	sleep?: (ms: number) => Promise<void>;
}

/** The framework a model created by a load records. */
const FRAMEWORK_OF: Readonly<Record<ModelFormat, string>> = {
	onnx: "onnx",
	"xgboost-json": "xgboost",
	tfjs: "tfjs",
};

/** States a deployment may serve (the scheduler moves Validated to Deployed). */
const SERVABLE = new Set(["Validated", "Deployed"]);

/** `name@alias` → its parts. */
export function splitModelRef(ref: string): { model: string; alias: string | null } {
	const at = ref.indexOf("@");
	return at === -1
		? { model: ref, alias: null }
		: { model: ref.slice(0, at), alias: ref.slice(at + 1) || null };
}

/** Creates the model when the tenant has none of that name; answers whether it did. */
async function ensureModel(
	port: RepositoryPort,
	model: string,
	format: ModelFormat,
): Promise<boolean> {
	try {
		await port.model(model);
		return false;
	} catch (error) {
		if (!isNotFound(error)) throw error;
		try {
			await port.createModel({ name: model, task: "other", framework: FRAMEWORK_OF[format] });
			return true;
		} catch (raced) {
			if (!isAlreadyExists(raced)) throw raced;
			return false;
		}
	}
}

async function existingVersion(
	port: RepositoryPort,
	model: string,
	version: string,
): Promise<VersionView | null> {
	try {
		return await port.version(model, version);
	} catch (error) {
		if (isNotFound(error)) return null;
		throw error;
	}
}

/**
 * One version from its files: stored, imported (read as its format, schema checked against the
 * config's) and Validated. The same files sent again are the same version; other files for an
 * existing version answer 409, since versions here are immutable.
 */
async function publishVersion(
	port: RepositoryPort,
	model: string,
	version: string,
	files: ReadonlyMap<string, Buffer>,
	config: TritonLoadConfig & { format: ModelFormat },
): Promise<void> {
	const file = await versionFile(config.format, version, files);
	const sha256 = createHash("sha256").update(file.bytes).digest("hex");
	const existing = await existingVersion(port, model, version);
	if (existing !== null) {
		if (existing.artifact?.sha256 === sha256) return;
		throw new AlreadyExistsError(
			"version",
			`${model}@${version}`,
			"It holds another file, and versions cannot be replaced: send the files under a new version number.",
		);
	}
	const artifact = await port.store(file.bytes);
	await port.importVersion({
		model,
		version,
		artifact,
		format: config.format,
		fileName: file.fileName,
		state: "Validated",
		...(config.schema ? { schema: config.schema } : {}),
		...(config.batching ? { serving: { batching: config.batching } } : {}),
	});
}

/** The version to serve: the one named (parameter, config, files, alias), else the newest servable. */
async function chooseVersion(
	port: RepositoryPort,
	model: string,
	alias: string | null,
	request: RepositoryLoadRequest,
): Promise<VersionView> {
	const sent = [...request.files.keys()].sort(semver.rcompare)[0];
	const named = request.version ?? request.config?.version ?? sent ?? alias;
	let version: VersionView | undefined;
	if (named != null) {
		version = await port.version(model, named);
	} else {
		version = (await port.versions(model))
			.filter(v => SERVABLE.has(v.state))
			.sort((a, b) => semver.rcompare(a.version, b.version))[0];
		if (version === undefined)
			throw new StateConflictError(
				`Model '${model}' has no Validated or Deployed version to load: move one to Validated (POST /api/v1/models/${model}/versions/{version}/transition), or send its files with the load.`,
				{ model },
			);
	}
	if (!SERVABLE.has(version.state))
		throw new StateConflictError(
			`Version ${version.version} of '${model}' is ${version.state}; only Validated or Deployed versions can be loaded.`,
			{ model, version: version.version, state: version.state },
		);
	return version;
}

/** A config's batching as a deployment takes it (preferred sizes stay the version's own). */
function deploymentBatching(batching: ConfigBatching | null): Partial<BatchingOptions> | null {
	if (batching === null) return null;
	const { enabled, maxBatchSize, maxQueueDelayMicros, maxQueueSize } = batching;
	return {
		enabled,
		...(maxBatchSize !== undefined ? { maxBatchSize } : {}),
		...(maxQueueDelayMicros !== undefined ? { maxQueueDelayMicros } : {}),
		...(maxQueueSize !== undefined ? { maxQueueSize } : {}),
	};
}

/**
 * Creates the model's deployment, or switches the existing one to serve `version` alone (the
 * split it had is kept for rollback). Answers whether replicas already running must reload.
 */
async function serve(
	port: RepositoryPort,
	model: string,
	version: string,
	batching: Partial<BatchingOptions> | null,
): Promise<{ reloads: boolean }> {
	const current = await port.deployment(model);
	if (current === null) {
		await port.createDeployment({
			model,
			version,
			replicas: 1,
			...(batching ? { batching } : {}),
		});
		return { reloads: false };
	}
	const patch: UpdateDeploymentParams = { model };
	const servesIt = current.traffic.length === 1 && current.traffic[0].version === version;
	if (!servesIt) patch.traffic = [{ version, weight: 100 }];
	if (current.replicas === 0) {
		patch.replicas = 1;
		if (current.maxReplicas < 1) patch.maxReplicas = 1;
	}
	if (batching) patch.batching = batching;
	if (Object.keys(patch).length > 1) await port.updateDeployment(patch);
	return { reloads: !servesIt && current.readyReplicas > 0 };
}

/** Whether a ready replica serves the version; with `pinned`, only once a node reports it loaded. */
async function served(
	port: RepositoryPort,
	deployment: DeploymentView,
	version: string,
	pinned: boolean,
): Promise<boolean> {
	if (deployment.readyReplicas === 0 || !deployment.traffic.some(t => t.version === version))
		return false;
	if (!pinned) return true;
	const ready = new Set(
		deployment.placements.filter(p => p.state === "ready").map(p => p.nodeID),
	);
	const key = `${deployment.tenantId}/${deployment.model}@${version}`;
	return (await port.nodes()).some(
		node =>
			ready.has(node.nodeID) &&
			(node.status?.serving?.models ?? []).some(m => m.key === key && m.pinned),
	);
}

async function waitUntilServed(
	port: RepositoryPort,
	model: string,
	version: string,
	pinned: boolean,
	options: RepositoryLoadOptions,
): Promise<void> {
	const now = options.now ?? Date.now;
	const sleep =
		options.sleep ?? ((ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms)));
	const deadline = now() + options.timeoutMs;
	for (;;) {
		const deployment = await port.deployment(model);
		if (deployment === null)
			throw new ModelLoadError(
				`${model}@${version}`,
				"its deployment was deleted while it loaded.",
			);
		if (await served(port, deployment, version, pinned)) return;
		if (now() >= deadline) {
			const why = deployment.statusReason ? `: ${deployment.statusReason}` : "";
			throw new ModelLoadError(
				`${model}@${version}`,
				`no replica was ready within ${Math.round(options.timeoutMs / 1000)} s (deployment ${deployment.status}${why}). ` +
					`It stays deployed and serves once a replica is ready; unload it to give up.`,
			);
		}
		await sleep(options.intervalMs ?? 200);
	}
}

/**
 * `POST /v2/repository/models/{ref}/load`: publishes the files sent (if any), deploys the chosen
 * version and waits until it serves.
 * @throws 404 for an unknown model or version, 400 for a bad config or file, 409 for a version
 *   that cannot be served, 503 (MODEL_LOAD_FAILED) when no replica is ready in time
 */
export async function loadModel(
	port: RepositoryPort,
	ref: string,
	request: RepositoryLoadRequest,
	options: RepositoryLoadOptions,
): Promise<RepositoryModelState> {
	const { model, alias } = splitModelRef(ref);
	const config = request.config;
	if (request.files.size > 0 && config?.format) {
		const withFormat = { ...config, format: config.format };
		const created = await ensureModel(port, model, config.format);
		try {
			for (const version of [...request.files.keys()].sort(semver.compare))
				await publishVersion(port, model, version, request.files.get(version)!, withFormat);
		} catch (error) {
			// A load that fails leaves no model behind that only it made.
			if (created) await port.deleteModel(model).catch(() => undefined);
			throw error;
		}
	}
	const version = await chooseVersion(port, model, alias, request);
	const { reloads } = await serve(
		port,
		model,
		version.version,
		deploymentBatching(config?.batching ?? null),
	);
	await waitUntilServed(port, model, version.version, reloads, options);
	return { name: model, version: version.version, state: "READY", reason: "" };
}

/**
 * `POST /v2/repository/models/{ref}/unload`: deletes the model's deployment (its versions go
 * back to Validated). A model that is not loaded answers as unloaded; an unknown one 404.
 */
export async function unloadModel(
	port: RepositoryPort,
	ref: string,
): Promise<RepositoryModelState> {
	const { model } = splitModelRef(ref);
	if ((await port.deployment(model)) === null) await port.model(model);
	else await port.deleteDeployment(model);
	return { name: model, state: "UNAVAILABLE", reason: "unloaded" };
}
