/**
 * agent — runs on every node. Broadcasts the node's live figures (`node.status`) every status
 * interval; the static capacity is in the broker metadata (nodes/start-node.ts). Keeps the
 * node's fleet view (routing table, predictors' load) current for routing predictions, and
 * forgets lost nodes: after MODELFLEET_NODE_FORGET_S, or at once when an operator says so
 * (`node.forgotten`, broadcast by `scheduler.nodes.forget`).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import type { GpuInfo } from "../lib/capacity/gpu-info";
import { readNvidiaSmi, type NodeCapacity } from "../lib/capacity/node-capacity";
import { nodeMetricsOf } from "../lib/metrics/node-metrics";
import type { MetricsJson } from "../lib/metrics/metrics-aggregation";
import { fleetInternal } from "../lib/accounts/access";
import { EVENTS, type NodeForgottenEvent } from "../lib/events";
import type { InFlightCounter } from "../lib/fleet/in-flight";
import { LostNodes, forgetCheckIntervalMs } from "../lib/fleet/lost-nodes";
import { SERVICE } from "../lib/fleet/node-role";
import { sampleNodeStatus, type NodeStatus, type ServingStatus } from "../lib/fleet/node-status";
import { fleetViewOf } from "../lib/routing/fleet-view";
import { fleetServicesMixin } from "../mixins/fleet-services.mixin";
import type { RoutingTable } from "../lib/routing/routing-table";

/** What `predictor.stats` answers, as far as the agent reads it. */
interface PredictorStats {
	activeRequests: number;
	cache: { entries: unknown[]; bytesUsed: number; hitRatio: number };
	models?: { key: string; pinned: boolean; active: number; ongoing: number; bytes: number }[];
}

export interface AgentServiceOptions {
	capacity: NodeCapacity;
	inFlight: InFlightCounter;
	statusIntervalMs: number;
	/** A node unavailable this long leaves this node's registry, ms; 0: only when an operator forgets it. */
	nodeForgetMs: number;
}

interface AgentState {
	timer: NodeJS.Timeout | null;
	loopDelay: ReturnType<typeof monitorEventLoopDelay>;
	gpus: GpuInfo[];
	refreshing: boolean;
	tableFetched: boolean;
	forgetTimer: NodeJS.Timeout | null;
}

export function agentService(options: AgentServiceOptions): ServiceSchema {
	// Long because it is a service schema (a declaration, not a procedure): the status action, the
	// fleet events it follows and the status/forget methods, each short, sharing the agent's
	// state.
	let state: AgentState;
	const lostNodes = new LostNodes(options.nodeForgetMs);

	const sample = (nodeID: string): NodeStatus => {
		const delayNs = state.loopDelay.mean;
		state.loopDelay.reset();
		return sampleNodeStatus({
			nodeID,
			cpus: options.capacity.cpus,
			inFlight: options.inFlight.value,
			eventLoopDelayMs: Number.isFinite(delayNs) ? delayNs / 1e6 : 0,
			gpus: state.gpus,
		});
	};

	return {
		name: SERVICE.agent,
		mixins: [fleetServicesMixin()],

		actions: {
			/** This node's live figures, sampled now. */
			status: {
				handler(): NodeStatus {
					return sample(this.broker.nodeID);
				},
			},
			/**
			 * This node's metrics as prom-client JSON: an all-in-one node's main thread merges its
			 * serving threads' into its own /metrics (lib/metrics/metrics-aggregation.ts).
			 */
			metrics: fleetInternal({
				handler(this: { broker: ServiceBroker }): Promise<MetricsJson> {
					return nodeMetricsOf(this.broker).json();
				},
			}),
		},

		created() {
			state = {
				timer: null,
				loopDelay: monitorEventLoopDelay({ resolution: 20 }),
				gpus: options.capacity.gpus,
				refreshing: false,
				tableFetched: false,
				forgetTimer: null,
			};
			// Declared GPUs report their memory as declared; nvidia-smi's are refreshed with each status.
			nodeMetricsOf(this.broker).setGpus(state.gpus);
		},

		events: {
			// Local events sent before every service has started are dropped: the first status
			// goes out once the broker is up, so the fleet sees live figures without waiting.
			async "$broker.started"() {
				await this.sendStatus();
				await this.fetchRoutingTable();
			},
			[EVENTS.nodeStatus](ctx: Context<NodeStatus>) {
				fleetViewOf(this.broker).recordStatus(ctx.params);
			},
			[EVENTS.placementChanged](ctx: Context<RoutingTable>) {
				fleetViewOf(this.broker).setTable(ctx.params);
			},
			"$node.disconnected"(ctx: Context<{ node: { id: string } }>) {
				fleetViewOf(this.broker).forgetNode(ctx.params.node.id);
				lostNodes.lost(ctx.params.node.id, Date.now());
			},
			"$node.connected"(ctx: Context<{ node: { id: string } }>) {
				lostNodes.clear(ctx.params.node.id);
			},
			[EVENTS.nodeForgotten](ctx: Context<NodeForgottenEvent>) {
				this.forgetNode(ctx.params.nodeID);
			},
			async "$services.changed"() {
				if (!state.tableFetched) await this.fetchRoutingTable();
			},
		},

		methods: {
			/** Drops a lost node from this node's registry; false when it is not held or not lost. */
			forgetNode(nodeID: string): boolean {
				const node = this.broker.registry.nodes.get(nodeID);
				if (!node || node.local || node.available) return false;
				this.broker.registry.nodes.delete(nodeID);
				lostNodes.clear(nodeID);
				fleetViewOf(this.broker).forgetNode(nodeID);
				return true;
			},

			/** Forgets the nodes lost for the forget time; local services hear of each (the scheduler's inventory). */
			forgetLostNodes(): void {
				const nodes = this.broker.registry.nodes
					.toArray()
					.map(node => ({ id: node.id, available: node.available, local: node.local }));
				for (const nodeID of lostNodes.due(nodes, Date.now())) {
					if (!this.forgetNode(nodeID)) continue;
					this.logger.info(
						`Forgot node '${nodeID}': unavailable for ${options.nodeForgetMs / 1000} s (MODELFLEET_NODE_FORGET_S).`,
					);
					const payload: NodeForgottenEvent = { nodeID, reason: "timeout" };
					this.broker.broadcastLocal(EVENTS.nodeForgotten, payload);
				}
			},

			/** A node that joins a running fleet asks for the routing table once. */
			async fetchRoutingTable(): Promise<void> {
				if (state.tableFetched) return;
				if (!this.serviceAvailable(SERVICE.scheduler)) return;
				const table = await this.broker
					.call<RoutingTable, Record<string, never>>(
						`${SERVICE.scheduler}.placements`,
						{},
					)
					.catch(() => null);
				if (table) {
					state.tableFetched = true;
					fleetViewOf(this.broker).setTable(table);
				}
			},

			async sendStatus(): Promise<void> {
				// Live GPU memory comes from nvidia-smi again; declared GPUs have no live figures.
				if (options.capacity.gpuSource === "nvidia-smi" && !state.refreshing) {
					state.refreshing = true;
					const read = await readNvidiaSmi().finally(() => (state.refreshing = false));
					if (read.gpus.length > 0) {
						state.gpus = read.gpus;
						nodeMetricsOf(this.broker).setGpus(read.gpus);
					}
				}
				const status = sample(this.broker.nodeID);
				const serving = await this.servingStatus();
				const calls = fleetViewOf(this.broker).callerLoad();
				await this.broker.broadcast(EVENTS.nodeStatus, {
					...status,
					...(serving ? { serving } : {}),
					...(calls.length > 0 ? { calls } : {}),
				});
			},

			/** The local predictor's load, when this node runs one. */
			async servingStatus(): Promise<ServingStatus | null> {
				if (!this.broker.getLocalService(SERVICE.predictor)) return null;
				const stats = await this.broker
					.call<PredictorStats, Record<string, never>>(
						`${SERVICE.predictor}.stats`,
						{},
						{ nodeID: this.broker.nodeID },
					)
					.catch(() => null);
				if (!stats) return null;
				return {
					modelsLoaded: stats.cache.entries.length,
					modelBytes: stats.cache.bytesUsed,
					activeRequests: stats.activeRequests,
					cacheHitRatio: stats.cache.hitRatio,
					models: (stats.models ?? []).map(m => ({
						key: m.key,
						pinned: m.pinned,
						active: m.active,
						ongoing: Math.round(m.ongoing * 1000) / 1000,
						bytes: m.bytes,
					})),
				};
			},
		},

		started() {
			state.loopDelay.enable();
			state.timer = setInterval(() => {
				this.sendStatus().catch((err: unknown) =>
					this.logger.warn("Could not send node status:", err),
				);
			}, options.statusIntervalMs);
			state.timer.unref();
			if (options.nodeForgetMs > 0) {
				state.forgetTimer = setInterval(
					() => this.forgetLostNodes(),
					forgetCheckIntervalMs(options.nodeForgetMs),
				);
				state.forgetTimer.unref();
			}
		},

		stopped() {
			if (state.timer) clearInterval(state.timer);
			if (state.forgetTimer) clearInterval(state.forgetTimer);
			state.loopDelay.disable();
		},
	};
}
