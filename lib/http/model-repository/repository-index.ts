/**
 * Triton's model repository index over the tenant's registry: one entry per version of every
 * model, with its state as the fleet serves it — READY when a ready replica of a deployment
 * serves it, LOADING while its deployment is placing one, UNAVAILABLE otherwise with the reason.
 */
import * as semver from "semver";
import type { ModelView } from "../../registry/model-store";
import type { VersionView } from "../../registry/version-store";
import type { DeploymentView } from "../../scheduler/deployment-store";
import type { RepositoryPort } from "./repository-port";
import type { RepositoryModelState } from "./repository-load";

/** Version lists fetched at once (one call per model). */
const CONCURRENCY = 4;

/** The state of one version, given the model's deployment (if any). */
export function versionState(
	version: Pick<VersionView, "model" | "version" | "state">,
	deployment: Pick<
		DeploymentView,
		"traffic" | "shadow" | "readyReplicas" | "status" | "statusReason"
	> | null,
): RepositoryModelState {
	const entry = { name: version.model, version: version.version };
	const deployed =
		deployment !== null &&
		(deployment.traffic.some(t => t.version === version.version) ||
			deployment.shadow?.version === version.version);
	if (deployed) {
		if (deployment.readyReplicas > 0) return { ...entry, state: "READY", reason: "" };
		if (deployment.status === "pending")
			return {
				...entry,
				state: "UNAVAILABLE",
				reason: deployment.statusReason ?? "no replica is placed yet",
			};
		return { ...entry, state: "LOADING", reason: "a replica is loading" };
	}
	if (version.state === "Validated" || version.state === "Deployed")
		return { ...entry, state: "UNAVAILABLE", reason: "unloaded" };
	return {
		...entry,
		state: "UNAVAILABLE",
		reason: `version is ${version.state}; only Validated versions can be loaded`,
	};
}

async function mapLimited<T, R>(
	items: readonly T[],
	limit: number,
	fn: (item: T) => Promise<R>,
): Promise<R[]> {
	const results: R[] = new Array<R>(items.length);
	let next = 0;
	const worker = async (): Promise<void> => {
		while (next < items.length) {
			const i = next++;
			results[i] = await fn(items[i]);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return results;
}

/**
 * `POST /v2/repository/index`: every model of the tenant, one entry per version (oldest
 * first), models by name; a model without versions is one UNAVAILABLE entry. With `ready`,
 * only the READY entries.
 */
export async function repositoryIndex(
	port: RepositoryPort,
	request: { ready: boolean },
): Promise<RepositoryModelState[]> {
	const [models, deployments] = await Promise.all([port.models(), port.deployments()]);
	const byModel = new Map(deployments.map(d => [d.model, d]));
	const sorted = [...models].sort((a, b) => a.name.localeCompare(b.name));
	const perModel = await mapLimited(sorted, CONCURRENCY, async (model: ModelView) => {
		const versions = (await port.versions(model.name)).sort((a, b) =>
			semver.compare(a.version, b.version),
		);
		if (versions.length === 0)
			return [{ name: model.name, state: "UNAVAILABLE", reason: "no versions" } as const];
		const deployment = byModel.get(model.name) ?? null;
		return versions.map(v => versionState(v, deployment));
	});
	const entries: RepositoryModelState[] = perModel.flat();
	return request.ready ? entries.filter(e => e.state === "READY") : entries;
}
