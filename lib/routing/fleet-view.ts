/**
 * What a node knows for routing predictions: the routing table the scheduler published, each
 * predictor node's last reported load, and the calls this node has in flight to each. One per
 * broker; the agent feeds it from events, the routing strategy and middleware read it.
 */
import type { ServiceBroker } from "moleculer";
import type { CallerLoad, NodeStatus } from "../fleet/node-status";
import { OngoingRequests } from "../predictor/ongoing-requests";
import type { RoutingEntry, RoutingTable } from "./routing-table";

export interface NodeLoad {
	/** When the node sampled it, ms. */
	at: number;
	/** Running + queued prediction requests on the node. */
	activeRequests: number;
	/** The same per served version key (`tenant/model@version`); a key present is loaded there. */
	activeByKey: Map<string, number>;
	/** Model memory taken by pinned (deployed) versions: what a new load cannot evict. */
	pinnedBytes: number;
}

export class FleetView {
	private entries = new Map<string, RoutingEntry>();
	private readonly loads = new Map<string, NodeLoad>();
	private readonly inFlight = new Map<string, number>();
	/** This node's calls in flight per (predictor node, tenant/model), averaged: the autoscaling signal as callers see it. */
	private readonly calls: OngoingRequests;

	/** `now`: the clock of the averages, ms (tests give their own). */
	constructor(now: () => number = () => performance.now()) {
		this.calls = new OngoingRequests(1000, now);
	}

	setTable(table: RoutingTable): void {
		const entries = new Map<string, RoutingEntry>();
		for (const entry of table.deployments)
			entries.set(`${entry.tenant}\u0000${entry.model}`, entry);
		this.entries = entries;
	}

	/** The deployment serving a tenant's model, if any. */
	deployment(tenant: string, model: string): RoutingEntry | undefined {
		return this.entries.get(`${tenant}\u0000${model}`);
	}

	recordStatus(status: NodeStatus): void {
		const serving = status.serving;
		if (!serving) return;
		const activeByKey = new Map<string, number>();
		let pinnedBytes = 0;
		for (const m of serving.models ?? []) {
			activeByKey.set(m.key, m.active);
			if (m.pinned) pinnedBytes += m.bytes ?? 0;
		}
		this.loads.set(status.nodeID, {
			at: status.at,
			activeRequests: serving.activeRequests,
			activeByKey,
			pinnedBytes,
		});
	}

	forgetNode(nodeID: string): void {
		this.loads.delete(nodeID);
		this.inFlight.delete(nodeID);
	}

	load(nodeID: string): NodeLoad | undefined {
		return this.loads.get(nodeID);
	}

	begin(nodeID: string, model?: string): void {
		this.inFlight.set(nodeID, (this.inFlight.get(nodeID) ?? 0) + 1);
		if (model !== undefined) this.calls.begin(`${nodeID}\u0000${model}`);
	}

	end(nodeID: string, model?: string): void {
		if (model !== undefined) this.calls.end(`${nodeID}\u0000${model}`);
		const n = (this.inFlight.get(nodeID) ?? 1) - 1;
		if (n <= 0) this.inFlight.delete(nodeID);
		else this.inFlight.set(nodeID, n);
	}

	/** Calls this node has in flight per predictor node and `tenant/model`, averaged over about a second. */
	callerLoad(): CallerLoad[] {
		return this.calls
			.averages()
			.filter(([, ongoing]) => ongoing >= 0.001)
			.map(([key, ongoing]) => {
				const [nodeID, model] = key.split("\u0000");
				return { nodeID, model, ongoing: Math.round(ongoing * 1000) / 1000 };
			});
	}

	localInFlight(nodeID: string): number {
		return this.inFlight.get(nodeID) ?? 0;
	}
}

const views = new WeakMap<ServiceBroker, FleetView>();

/** The broker's fleet view (made on first use). */
export function fleetViewOf(broker: ServiceBroker): FleetView {
	let view = views.get(broker);
	if (!view) {
		view = new FleetView();
		views.set(broker, view);
	}
	return view;
}
