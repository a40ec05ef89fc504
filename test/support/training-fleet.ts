/**
 * What the cluster tests of training-queue jobs (training, data-parallel, optimization) share:
 * a CPU worker with one trainer slot, the wait for its trainers to be up, and the job calls
 * through the gateway (submit, read, wait for a state; a failed job fails the wait at once,
 * with the fleet's logs).
 */
import type { JobView } from "../../lib/scheduler/job-store";
import type { FleetProcesses } from "./fleet-processes";
import { apiClient } from "./test-node";
import { waitFor } from "./wait";

/** A worker's settings for these tests: 2 CPUs, no GPU (unless given), one trainer on wasm. */
export function trainerWorkerEnv(extra: Record<string, string> = {}): Record<string, string> {
	return {
		MODELFLEET_CPUS: "2",
		MODELFLEET_MEMORY: "4GiB",
		MODELFLEET_GPUS: "none",
		MODELFLEET_TRAINER_SLOTS: "1",
		MODELFLEET_TRAINING_BACKEND: "wasm",
		...extra,
	};
}

export interface Reply {
	status: number;
	body: unknown;
}

/** The job calls of a test, on the gateway at `api()` (read when called: set in beforeAll). */
export function trainingJobsClient(cluster: FleetProcesses, api: () => string, key: string) {
	const request = (url: string, init: { method?: string; body?: unknown } = {}): Promise<Reply> =>
		apiClient(api(), key)(url, init);

	const job = async (id: string) => (await request(`/training-jobs/${id}`)).body as JobView;

	async function enqueue(spec: Record<string, unknown>): Promise<JobView> {
		const queued = await request("/training-jobs", { method: "POST", body: spec });
		expect(queued.status).toBe(201);
		return queued.body as JobView;
	}

	function waitForJob(id: string, what: string, probe: (view: JobView) => boolean, ms: number) {
		return waitFor(
			`training job ${id}: ${what}`,
			async () => {
				const view = await job(id);
				if (view.state === "failed") throw new Error(`it failed: ${view.error}`);
				return probe(view) ? view : undefined;
			},
			ms,
			150,
		).catch(cluster.failWithLogs);
	}

	const completed = (id: string, ms: number) =>
		waitForJob(id, "completed", v => v.state === "completed", ms);

	/** Until every named worker is available with its trainer. */
	async function trainersUp(workers: readonly string[]): Promise<void> {
		await waitFor(
			`trainers up on ${workers.join(", ")}`,
			async () => {
				const nodes = await request("/nodes");
				if (nodes.status !== 200) return undefined;
				const list = nodes.body as Array<{
					nodeID: string;
					available: boolean;
					services: string[];
				}>;
				return workers.every(w =>
					list.some(n => n.nodeID === w && n.available && n.services.includes("trainer")),
				)
					? true
					: undefined;
			},
			60_000,
			250,
		).catch(cluster.failWithLogs);
	}

	return { request, job, enqueue, waitForJob, completed, trainersUp };
}
