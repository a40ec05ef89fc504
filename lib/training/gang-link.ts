/**
 * One trainer's part in a data-parallel job's allreduce (docs/training.md#data-parallel-training):
 * rank 0 collects every rank's contribution in its GradientRendezvous and answers each the
 * reduced vector; a rank ≥ 1 sends its contribution to rank 0's node (the call's answer is the
 * reduced vector). The link also finds which gang node failed a step — one that sent nothing in
 * time, one whose node left the fleet, or rank 0 itself when its node stops answering — so the
 * job's failure can name it and the next attempt runs without it.
 *
 *     const link = new GangLink(gang, ports);           // rank 0: ports.rendezvous is its own
 *     const reduced = await link.exchange(step, vector);
 *     link.nodeLeft(nodeID);                            // on $node.disconnected
 */
import {
	GradientRendezvous,
	StepFailedError,
	type RendezvousTimeouts,
} from "./gradient-rendezvous";

/** How long a step may wait for every rank: the first one while they load data and start. */
export const STEP_TIMEOUTS: RendezvousTimeouts = { firstStepMs: 120_000, stepMs: 30_000 };

/** Errors of the bus itself (no answer, the node left): the called node is the lost one. */
const TRANSPORT_ERRORS = new Set([
	"RequestTimeoutError",
	"RequestRejectedError",
	"ServiceNotAvailableError",
	"ServiceNotFoundError",
]);

export interface GangLinkPorts {
	/** Rank ≥ 1: sends a step's contribution to rank 0's node; answers the reduced vector. */
	sendToRankZero(nodeID: string, step: number, vector: Float32Array): Promise<Float32Array>;
}

export class GangLink {
	/** Rank 0's collection point; null on other ranks. */
	readonly rendezvous: GradientRendezvous | null;
	private lost: string | null = null;
	private left: ((error: Error) => void) | null = null;

	constructor(
		readonly gang: { rank: number; nodes: string[] },
		private readonly ports: GangLinkPorts,
		timeouts: RendezvousTimeouts = STEP_TIMEOUTS,
	) {
		this.rendezvous =
			gang.rank === 0 ? new GradientRendezvous(gang.nodes.length, timeouts) : null;
	}

	/** The gang node that failed the run, once one did. */
	lostNode(): string | null {
		return this.lost;
	}

	/** This rank's contribution for the reduced vector of every rank's. */
	async exchange(step: number, vector: Float32Array): Promise<Float32Array> {
		if (this.rendezvous) {
			try {
				return await this.rendezvous.contribute(step, 0, vector);
			} catch (err) {
				if (err instanceof StepFailedError && err.missingRanks.length > 0)
					this.blame(this.gang.nodes[err.missingRanks[0]]);
				throw err;
			}
		}
		const rankZero = this.gang.nodes[0];
		const gone = new Promise<never>((_, reject) => (this.left = reject));
		try {
			return await Promise.race([this.ports.sendToRankZero(rankZero, step, vector), gone]);
		} catch (err) {
			// Rank 0 answered with its own failure (another rank was lost): it names that one.
			if (TRANSPORT_ERRORS.has((err as Error).name) || this.lost === rankZero)
				this.blame(rankZero);
			throw err;
		} finally {
			this.left = null;
		}
	}

	/** A node left the fleet: the step fails at once when it is one of the gang's. */
	nodeLeft(nodeID: string): void {
		const rank = this.gang.nodes.indexOf(nodeID);
		if (rank < 0 || rank === this.gang.rank) return;
		const message = `data-parallel rank ${rank}'s node ${nodeID} left the fleet`;
		if (this.rendezvous) {
			this.blame(nodeID);
			this.rendezvous.fail(message, [rank]);
		} else if (rank === 0) {
			this.blame(nodeID);
			this.left?.(new Error(message));
		}
	}

	/** The run on this node ended: rank 0 answers every waiting and later step with `reason`. */
	close(reason: string): void {
		this.rendezvous?.fail(reason);
	}

	private blame(nodeID: string): void {
		this.lost ??= nodeID;
	}
}
