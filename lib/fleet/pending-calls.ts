/**
 * Calls this node has sent to other nodes and not yet had answered, per node, with each node's
 * usual latency (an exponentially weighted average of answered calls): which nodes have a call
 * pending for longer than they usually take. A pure bookkeeper: the clock is passed in.
 */

export interface SuspicionSettings {
	/** The least time a call must be pending before its node is suspect. */
	suspectAfterMs: number;
	/** And at least this many times the node's usual latency… */
	latencyMultiple: number;
	/** …but never longer than this: a probe costs one NATS round trip, a late one a slow request. */
	maxSuspectMs: number;
}

/** How much one answered call moves a node's average latency. */
const LATENCY_WEIGHT = 0.1;

interface NodeCalls {
	/** Call id → when it was sent; insertion order, so the first entry is the oldest. */
	started: Map<number, number>;
	/** Average latency of answered calls, ms; null before the first. */
	latencyMs: number | null;
}

export class PendingCalls {
	private readonly nodes = new Map<string, NodeCalls>();
	private nextId = 0;

	constructor(private readonly now: () => number = Date.now) {}

	/** A call to `nodeID` was sent; returns its id for `end`. */
	begin(nodeID: string): number {
		let calls = this.nodes.get(nodeID);
		if (!calls) {
			calls = { started: new Map(), latencyMs: null };
			this.nodes.set(nodeID, calls);
		}
		const id = this.nextId++;
		calls.started.set(id, this.now());
		return id;
	}

	/** The call ended; an answered one (`answered`) teaches the node's usual latency. */
	end(nodeID: string, id: number, answered: boolean): void {
		const calls = this.nodes.get(nodeID);
		const startedAt = calls?.started.get(id);
		if (!calls || startedAt === undefined) return;
		calls.started.delete(id);
		if (answered) {
			const took = this.now() - startedAt;
			calls.latencyMs =
				calls.latencyMs === null
					? took
					: calls.latencyMs + LATENCY_WEIGHT * (took - calls.latencyMs);
		}
	}

	/** Calls to `nodeID` pending now. */
	count(nodeID: string): number {
		return this.nodes.get(nodeID)?.started.size ?? 0;
	}

	/** How long a call to `nodeID` may be pending before the node is suspect. */
	suspectAfterMs(nodeID: string, settings: SuspicionSettings): number {
		const latency = this.nodes.get(nodeID)?.latencyMs ?? 0;
		return Math.min(
			settings.maxSuspectMs,
			Math.max(settings.suspectAfterMs, settings.latencyMultiple * latency),
		);
	}

	/** Nodes whose oldest pending call has waited longer than they should take. */
	suspects(now: number, settings: SuspicionSettings): string[] {
		const out: string[] = [];
		for (const [nodeID, calls] of this.nodes) {
			const oldest = calls.started.values().next();
			if (oldest.done) continue;
			if (now - oldest.value >= this.suspectAfterMs(nodeID, settings)) out.push(nodeID);
		}
		return out;
	}
}
