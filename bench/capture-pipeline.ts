/**
 * What payload capture costs per captured prediction, in process and without the HTTP load
 * around it (the steadier figure on a shared machine): the bench MLP's answers (64 FP32 inputs,
 * 10 outputs) captured and stored in the database the capture bench's node used, after the node
 * has stopped (lib/monitoring/capture-cost.ts); CPU µs per capture, best of 10 rounds of 3000.
 */
import { randomUUID } from "node:crypto";
import { openDatabase } from "../lib/db/database";
import {
	measureCaptureCost,
	storedCaptures,
	type CaptureCost,
} from "../lib/monitoring/capture-cost";
import { MLP_FEATURES } from "./models/mlp-model";
import { seededRandom, uniformFloats } from "./support/prng";

export async function capturePipelineCost(
	store: { databaseUrl: string | null; dataDir: string },
	tenantId: string,
): Promise<CaptureCost & { batches: number; capturesPerBatch: number }> {
	const database = await openDatabase(store);
	try {
		// What the node stored: how many rows (batches), and how full they were.
		const { batches, captures } = await storedCaptures(database, tenantId);
		const random = seededRandom(11);
		const answered = Array.from({ length: 3000 }, () => ({
			id: randomUUID(),
			inputs: [
				{
					name: "x",
					datatype: "FP32" as const,
					shape: [1, MLP_FEATURES],
					data: uniformFloats(random, MLP_FEATURES, -1, 1),
				},
			],
			outputs: [
				{
					name: "y",
					datatype: "FP32" as const,
					shape: [1, 10],
					data: uniformFloats(random, 10, 0, 1),
				},
			],
		}));
		const cost = await measureCaptureCost(database, tenantId, answered, 10);
		return { ...cost, batches, capturesPerBatch: captures / Math.max(1, batches) };
	} finally {
		await database.close();
	}
}
