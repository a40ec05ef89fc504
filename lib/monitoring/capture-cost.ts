/**
 * What payload capture costs per captured prediction, measured in process (the capture bench,
 * bench/capture-pipeline.ts): answered requests offered to a capture buffer as the predictor
 * does, flushed, and stored as the scheduler does; CPU time (user + system) per capture, the
 * best of some rounds. Here because only the monitoring code may write its table.
 */
import type { Database } from "../db/database";
import type { Tensor } from "../inference/tensor";
import { CaptureBuffer } from "./capture";
import { CaptureStore } from "./capture-store";

export interface AnsweredForCost {
	id: string;
	inputs: Tensor[];
	outputs: Tensor[];
}

export interface CaptureCost {
	/** On the predict path: the record written into its batch, µs per capture. */
	offerMicros: number;
	/** The same, then the flush and the store's insert, µs per capture. */
	totalMicros: number;
}

export async function measureCaptureCost(
	database: Database,
	tenantId: string,
	answered: readonly AnsweredForCost[],
	rounds: number,
): Promise<CaptureCost> {
	const store = new CaptureStore(database);
	const buffer = new CaptureBuffer(batches => store.insertBatches(batches));
	const round = async (): Promise<CaptureCost> => {
		const start = process.cpuUsage();
		for (const a of answered)
			buffer.offer({
				predictionId: a.id,
				tenant: tenantId,
				model: "capture-cost",
				version: "1.0.0",
				at: Date.now(),
				latencyMs: 0.5,
				rows: 1,
				inputs: a.inputs,
				outputs: a.outputs,
				error: null,
			});
		const offered = process.cpuUsage(start);
		await buffer.flush();
		const stored = process.cpuUsage(start);
		return {
			offerMicros: (offered.user + offered.system) / answered.length,
			totalMicros: (stored.user + stored.system) / answered.length,
		};
	};
	await round();
	let best: CaptureCost = { offerMicros: Infinity, totalMicros: Infinity };
	for (let r = 0; r < rounds; r++) {
		const cost = await round();
		best = {
			offerMicros: Math.min(best.offerMicros, cost.offerMicros),
			totalMicros: Math.min(best.totalMicros, cost.totalMicros),
		};
	}
	return best;
}

/** How many batches a tenant's captures were stored in, and how many captures they hold. */
export function storedCaptures(
	database: Database,
	tenantId: string,
): Promise<{ batches: number; captures: number }> {
	return new CaptureStore(database).stored(tenantId);
}
