/**
 * When each lost node was lost, and which are due to be forgotten. Moleculer's registry keeps a
 * node that disconnected (so it can come back under its ID); a node that stays away for the
 * forget time (MODELFLEET_NODE_FORGET_S) is removed from the registry of every node, each node
 * deciding for its own registry — no node depends on another to tidy its list.
 */

/** A node as the registry holds it, as far as forgetting reads it. */
export interface KnownNode {
	id: string;
	available: boolean;
	local: boolean;
}

export class LostNodes {
	/** Node ID → when this node saw it become unavailable (ms). */
	private readonly lostAt = new Map<string, number>();

	/** @param forgetAfterMs a node unavailable this long is due; 0: never by time. */
	constructor(private readonly forgetAfterMs: number) {}

	/** The node became unavailable (disconnected, or no heartbeat). */
	lost(nodeID: string, at: number): void {
		if (!this.lostAt.has(nodeID)) this.lostAt.set(nodeID, at);
	}

	/** The node is back, or forgotten: nothing to wait for. */
	clear(nodeID: string): void {
		this.lostAt.delete(nodeID);
	}

	/**
	 * The registry's unavailable nodes that have been so for the forget time. A node found
	 * unavailable without a recorded loss (lost before this node started watching) starts its
	 * wait now; records of nodes the registry no longer holds are dropped.
	 */
	due(nodes: readonly KnownNode[], now: number): string[] {
		return dueNodes(nodes, this.lostAt, now, this.forgetAfterMs);
	}
}

/** The pure part of LostNodes.due: it updates `lostAt` as described there. */
export function dueNodes(
	nodes: readonly KnownNode[],
	lostAt: Map<string, number>,
	now: number,
	forgetAfterMs: number,
): string[] {
	const held = new Set(nodes.map(node => node.id));
	for (const id of [...lostAt.keys()]) if (!held.has(id)) lostAt.delete(id);
	const due: string[] = [];
	for (const node of nodes) {
		if (node.local || node.available) {
			lostAt.delete(node.id);
			continue;
		}
		const since = lostAt.get(node.id);
		if (since === undefined) lostAt.set(node.id, now);
		else if (forgetAfterMs > 0 && now - since >= forgetAfterMs) due.push(node.id);
	}
	return due;
}

/** How often to look for nodes due: a quarter of the forget time, between 100 ms and 30 s. */
export function forgetCheckIntervalMs(forgetAfterMs: number): number {
	return Math.min(30_000, Math.max(100, Math.floor(forgetAfterMs / 4)));
}
