/**
 * The deployment actions' logic: resolve the versions a deployment names, keep their
 * lifecycle in step (a version that gets traffic is Deployed; one that loses its last
 * deployment goes back to Validated), and store what is desired. Placement is the reconciler's.
 */
import { resolveMonitoring } from "../monitoring/monitoring-spec";
import type { Scope } from "../accounts/access";
import { AlreadyExistsError, InvalidInputError, StateConflictError } from "../errors";
import type { VersionView } from "../registry/version-store";
import {
	assertTraffic,
	resolveAutoscaling,
	resolveReplicaBounds,
	resolveResources,
	type CreateDeploymentParams,
	type ShadowTarget,
	type TrafficEntry,
	type TrafficInput,
	type UpdateDeploymentParams,
} from "./deployment-spec";
import type {
	DeploymentPatch,
	DeploymentRecord,
	DeploymentStore,
	DeploymentView,
} from "./deployment-store";

/** The registry as the scheduler uses it, acting for the caller's tenant. */
export interface RegistryPort {
	modelId(model: string): Promise<string>;
	/** A version by reference (`name`, `name@alias`, a version string): 404 when unknown. */
	version(model: string, version: string | undefined): Promise<VersionView>;
	transition(
		model: string,
		version: string,
		to: "Deployed" | "Validated",
		reason: string,
	): Promise<void>;
}

/** A version entry as a deployment stores it, with the artifact size for memory estimates. */
export type ServedVersion = TrafficEntry & { artifactBytes: number };

function splitRef(model: string): string {
	const at = model.indexOf("@");
	return at === -1 ? model : model.slice(0, at);
}

export class Deployments {
	constructor(private readonly store: DeploymentStore) {}

	async create(
		scope: Scope,
		registry: RegistryPort,
		params: CreateDeploymentParams,
	): Promise<DeploymentView> {
		const model = splitRef(params.model);
		const modelId = await registry.modelId(model);
		if (await this.store.exists(scope, model)) {
			throw new AlreadyExistsError(
				"deployment",
				model,
				"A model has one deployment: change it with deployments.update (PATCH) or delete it first.",
			);
		}
		const named =
			params.model.length > model.length ? params.model.slice(model.length + 1) : "latest";
		const trafficInput: TrafficInput[] = params.traffic ?? [
			{ version: params.version ?? named, weight: 100 },
		];
		assertTraffic(trafficInput);
		const traffic = await this.resolveTraffic(registry, model, params.model, trafficInput);
		const shadow =
			params.shadow !== undefined
				? await this.resolveShadow(registry, model, params.shadow)
				: null;
		const autoscaling = resolveAutoscaling(params.autoscaling, null);
		const bounds = resolveReplicaBounds(params, autoscaling !== null, null);
		for (const entry of [...traffic, ...(shadow ? [shadow] : [])]) {
			await this.enter(registry, model, entry);
		}
		return this.store.create(scope, {
			modelId,
			model,
			...bounds,
			resources: resolveResources(params.resources),
			batching: params.batching ?? {},
			autoscaling,
			traffic,
			shadow,
			monitoring: resolveMonitoring(params.monitoring),
		});
	}

	async update(
		scope: Scope,
		registry: RegistryPort,
		params: UpdateDeploymentParams,
	): Promise<DeploymentView> {
		const current = await this.store.get(scope, params.model);
		const patch: DeploymentPatch = {};
		if (params.traffic !== undefined) {
			assertTraffic(params.traffic);
			patch.traffic = await this.resolveTraffic(
				registry,
				current.model,
				current.model,
				params.traffic,
			);
			patch.previousTraffic = current.traffic;
		}
		if (params.shadow !== undefined) {
			patch.shadow =
				params.shadow === null
					? null
					: await this.resolveShadow(registry, current.model, params.shadow);
		}
		if (params.resources !== undefined) {
			patch.resources = resolveResources(params.resources, current.resources);
		}
		if (params.batching !== undefined)
			patch.batching = { ...current.batching, ...params.batching };
		if (params.monitoring !== undefined)
			patch.monitoring = resolveMonitoring(params.monitoring, current.monitoring);
		if (params.autoscaling !== undefined) {
			patch.autoscaling = resolveAutoscaling(params.autoscaling, current.autoscaling);
		}
		const autoscaled =
			(patch.autoscaling !== undefined ? patch.autoscaling : current.autoscaling) !== null;
		Object.assign(patch, resolveReplicaBounds(params, autoscaled, current));
		return this.change(scope, registry, current, patch);
	}

	/** Sets the replica count; on an autoscaled deployment it must lie within its bounds. */
	async scale(
		scope: Scope,
		registry: RegistryPort,
		model: string,
		replicas: number,
	): Promise<DeploymentView> {
		const current = await this.store.get(scope, model);
		if (
			current.autoscaling &&
			(replicas < current.minReplicas || replicas > current.maxReplicas)
		) {
			throw new InvalidInputError(
				`Deployment '${model}' autoscales between ${current.minReplicas} and ${current.maxReplicas} replicas; ` +
					`change minReplicas/maxReplicas, or turn autoscaling off (autoscaling: null), to set ${replicas}.`,
				{ field: "replicas" },
			);
		}
		const patch: DeploymentPatch = current.autoscaling
			? { replicas }
			: { replicas, minReplicas: replicas, maxReplicas: replicas };
		return this.change(scope, registry, current, patch);
	}

	/**
	 * Sends all traffic to one version: the one named, or else the canary (the entry with the
	 * least weight). The split before is kept for rollback.
	 */
	async promote(
		scope: Scope,
		registry: RegistryPort,
		model: string,
		version: string | undefined,
	): Promise<DeploymentView> {
		const current = await this.store.get(scope, model);
		const target =
			version === undefined
				? [...current.traffic].sort((a, b) => a.weight - b.weight)[0]
				: current.traffic.find(t => t.version === version || t.versionId === version);
		if (!target) {
			throw new InvalidInputError(
				`Version '${version}' gets no traffic in deployment '${model}'; promote one of: ${current.traffic.map(t => t.version).join(", ")}.`,
				{ field: "version" },
			);
		}
		return this.change(scope, registry, current, {
			traffic: [{ ...target, weight: 100 }],
			previousTraffic: current.traffic,
		});
	}

	/** Restores the traffic split as it was before the last change. */
	async rollback(scope: Scope, registry: RegistryPort, model: string): Promise<DeploymentView> {
		const current = await this.store.get(scope, model);
		if (!current.previousTraffic) {
			throw new StateConflictError(
				`Deployment '${model}' has no earlier traffic split to roll back to.`,
				{ model },
			);
		}
		for (const entry of current.previousTraffic) await this.enter(registry, model, entry);
		return this.change(scope, registry, current, {
			traffic: current.previousTraffic,
			previousTraffic: current.traffic,
		});
	}

	async delete(scope: Scope, registry: RegistryPort, model: string): Promise<DeploymentRecord> {
		const deleted = await this.store.delete(scope, model);
		for (const entry of servedVersions(deleted)) {
			await this.leave(registry, model, entry);
		}
		return deleted;
	}

	private async change(
		scope: Scope,
		registry: RegistryPort,
		current: DeploymentRecord,
		patch: DeploymentPatch,
	): Promise<DeploymentView> {
		const before = servedVersions(current);
		const after = servedVersions({ ...current, ...patch });
		for (const entry of after) {
			if (!before.some(b => b.versionId === entry.versionId))
				await this.enter(registry, current.model, entry);
		}
		const updated = await this.store.update(scope, current.model, patch);
		for (const entry of before) {
			if (!after.some(a => a.versionId === entry.versionId))
				await this.leave(registry, current.model, entry);
		}
		return updated;
	}

	private async resolveTraffic(
		registry: RegistryPort,
		model: string,
		ref: string,
		input: readonly TrafficInput[],
	): Promise<ServedVersion[]> {
		const entries: ServedVersion[] = [];
		for (const item of input) {
			const version = await registry.version(model, item.version);
			if (entries.some(e => e.versionId === version.id)) {
				throw new InvalidInputError(
					`'${item.version}' and another traffic entry name the same version ${version.version} of '${ref}'.`,
					{ field: "traffic" },
				);
			}
			entries.push({
				versionId: version.id,
				version: version.version,
				weight: item.weight,
				artifactBytes: version.artifact?.size ?? 0,
			});
		}
		return entries;
	}

	private async resolveShadow(
		registry: RegistryPort,
		model: string,
		ref: string,
	): Promise<ShadowTarget & { artifactBytes: number }> {
		const version = await registry.version(model, ref);
		return {
			versionId: version.id,
			version: version.version,
			artifactBytes: version.artifact?.size ?? 0,
		};
	}

	/** A version starting to serve: Validated → Deployed (Deployed stays; others are refused with 409). */
	private async enter(registry: RegistryPort, model: string, entry: ShadowTarget): Promise<void> {
		const version = await registry.version(model, entry.version);
		if (version.state === "Deployed") return;
		await registry.transition(model, entry.version, "Deployed", "deployed by the scheduler");
	}

	/** A version no deployment serves any more goes back to Validated. */
	private async leave(registry: RegistryPort, model: string, entry: ShadowTarget): Promise<void> {
		const version = await registry.version(model, entry.version);
		if (version.state !== "Deployed") return;
		await registry.transition(
			model,
			entry.version,
			"Validated",
			"undeployed: no deployment serves it",
		);
	}
}

/** Every version a deployment keeps loaded: the traffic split's and the shadow. */
export function servedVersions(d: Pick<DeploymentRecord, "traffic" | "shadow">): ShadowTarget[] {
	const all: ShadowTarget[] = d.traffic.map(t => ({
		versionId: t.versionId,
		version: t.version,
	}));
	if (d.shadow && !all.some(v => v.versionId === d.shadow!.versionId)) all.push(d.shadow);
	return all;
}
