/**
 * The `ModelReplica` load-balancing strategy of `predictor.infer`: a request goes to a node
 * holding a ready replica of the deployment it targets, the least loaded one (its reported
 * running + queued requests for that version, plus what this caller has in flight to it). A
 * model with no deployment goes to the least-loaded predictor (it loads on demand there).
 * Retries after a failed node select again, from the endpoints still alive.
 */
import { Strategies, type Context, type ServiceBroker } from "moleculer";
import type { RequestMeta } from "../accounts/access";
import { readNodeMetadata } from "../fleet/node-metadata";
import { parseVersionRef } from "../registry/version-ref";
import { fleetViewOf, type FleetView } from "./fleet-view";
import { chooseReplica, type ReplicaLoad } from "./replica-choice";

/** The registered name (moleculer.config.ts registers it; the action names it). */
export const MODEL_REPLICA_STRATEGY = "ModelReplica";

/** The part of Moleculer's Endpoint the strategy reads. */
interface EndpointLike {
	id: string;
}

interface InferParams {
	model?: unknown;
	version?: unknown;
}

/** A node whose pinned models take this share of its model memory takes no on-demand loads. */
const PINNED_FULL = 0.9;

/** Pure: which endpoint of `list` serves this request. */
export function selectEndpoint<E extends EndpointLike>(
	view: FleetView,
	list: readonly E[],
	tenant: string | undefined,
	params: InferParams,
	now: number,
	modelMemory: (nodeID: string) => number | null = () => null,
	random: () => number = Math.random,
): E {
	if (list.length === 1) return list[0];
	const byID = new Map(list.map(e => [e.id, e]));
	if (tenant !== undefined && typeof params.model === "string") {
		const ref = parseVersionRef(
			params.model,
			typeof params.version === "string" ? params.version : undefined,
		);
		const deployment = view.deployment(tenant, ref.model);
		if (deployment) {
			const selector = ref.selector;
			const version =
				selector.kind === "version"
					? selector.version
					: (deployment.traffic[0]?.version ?? null);
			const served =
				version !== null &&
				(deployment.traffic.some(t => t.version === version) ||
					deployment.shadow === version);
			if (served || selector.kind === "latest") {
				const key = `${tenant}/${ref.model}@${version}`;
				const candidates = deployment.replicas
					.filter(nodeID => byID.has(nodeID))
					.map((nodeID): ReplicaLoad => {
						const load = view.load(nodeID);
						return {
							nodeID,
							reportedActive: load?.activeByKey.get(key) ?? load?.activeRequests ?? 0,
							reportedAt: load?.at ?? 0,
							localInFlight: view.localInFlight(nodeID),
						};
					});
				const chosen = chooseReplica(candidates, now, random);
				if (chosen !== null) return byID.get(chosen)!;
			}
		}
	}
	// No deployment (or none of its replicas is reachable): the LRU long tail. Never a node
	// whose model memory is all pinned (loading there would have to evict a deployed model);
	// preferably one that already holds a version of the model (a cache hit); the least loaded.
	const withRoom = list.filter(e => {
		const budget = modelMemory(e.id);
		const pinned = view.load(e.id)?.pinnedBytes ?? 0;
		return budget === null || pinned < budget * PINNED_FULL;
	});
	const pool = withRoom.length > 0 ? withRoom : list;
	const prefix =
		tenant !== undefined && typeof params.model === "string"
			? `${tenant}/${parseVersionRef(params.model).model}@`
			: null;
	const holding =
		prefix === null
			? []
			: pool.filter(e =>
					[...(view.load(e.id)?.activeByKey.keys() ?? [])].some(key =>
						key.startsWith(prefix),
					),
				);
	const chosen = chooseReplica(
		(holding.length > 0 ? holding : pool).map(e => {
			const load = view.load(e.id);
			return {
				nodeID: e.id,
				reportedActive: load?.activeRequests ?? 0,
				reportedAt: load?.at ?? 0,
				localInFlight: view.localInFlight(e.id),
			};
		}),
		now,
		random,
	);
	return (chosen !== null ? byID.get(chosen) : undefined) ?? pool[0];
}

export class ModelReplicaStrategy extends Strategies.Base {
	private readonly view: FleetView;

	constructor(registry: unknown, broker: ServiceBroker, opts?: object) {
		// Moleculer's typings want its Registry class; the base only stores what it is given.
		super(registry as ConstructorParameters<typeof Strategies.Base>[0], broker, opts);
		this.view = fleetViewOf(broker);
	}

	select<E extends EndpointLike>(list: E[], ctx?: Context<InferParams, RequestMeta>): E {
		return selectEndpoint(
			this.view,
			list,
			ctx?.meta?.tenant,
			ctx?.params ?? {},
			Date.now(),
			nodeID =>
				readNodeMetadata(this.broker.registry.nodes.get(nodeID)?.metadata)
					?.modelMemoryBytes ?? null,
		);
	}
}

/** Registers the strategy with Moleculer (idempotent). */
export function registerRoutingStrategies(): void {
	// Moleculer's typings declare the registered value as an instance; it takes the class.
	Strategies.register(
		MODEL_REPLICA_STRATEGY,
		ModelReplicaStrategy as unknown as Parameters<typeof Strategies.register>[1],
	);
}
