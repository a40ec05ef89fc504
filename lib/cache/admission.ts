/**
 * Whether a newly loaded model may stay and what must go for it: a pure
 * function over the resident models in least-recently-used order. The ModelCache carries the
 * decision out.
 *
 * When only pinned models stand in the way, a pinned (deployed) newcomer is admitted over
 * budget: the placement chose this node for it, and refusing would leave a deployment that
 * silently never serves; the cache reports the excess so operators and the scheduler see it.
 * An unpinned newcomer is refused instead (the cache answers a retryable ModelLoadError, so the
 * request can go to a node with room): loading it anyway would risk running the whole node,
 * deployed models included, out of memory.
 */

export interface ResidentModel {
	key: string;
	bytes: number;
	pinned: boolean;
}

export interface Incoming {
	bytes: number;
	pinned: boolean;
}

export interface AdmissionDecision {
	/** The newcomer may stay (be loaded). */
	admit: boolean;
	/** Keys to evict first, least recently used first; empty when not admitted. */
	evict: string[];
	/** Bytes over the budget once admitted and the evictions done; 0 when within it. */
	overBudgetBytes: number;
}

/**
 * Decides on a newcomer of `incoming.bytes`: evicts unpinned models, least recently used
 * first, until it fits; when it cannot fit, admits it over budget only if it is pinned.
 * `resident` is in least-recently-used-first order. An incoming of 0 bytes that is pinned
 * gives the evictions that bring an over-budget cache back within budget.
 */
export function decideAdmission(
	resident: readonly ResidentModel[],
	incoming: Incoming,
	budgetBytes: number,
): AdmissionDecision {
	let used = incoming.bytes + resident.reduce((sum, model) => sum + model.bytes, 0);
	const evict: string[] = [];
	for (const model of resident) {
		if (used <= budgetBytes) break;
		if (model.pinned) continue;
		evict.push(model.key);
		used -= model.bytes;
	}
	if (used <= budgetBytes) return { admit: true, evict, overBudgetBytes: 0 };
	if (!incoming.pinned) return { admit: false, evict: [], overBudgetBytes: 0 };
	return { admit: true, evict, overBudgetBytes: used - budgetBytes };
}
