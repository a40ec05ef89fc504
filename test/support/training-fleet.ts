/**
 * What the cluster tests of training-queue jobs (training, data-parallel, optimization, studies)
 * share: a CPU worker with one trainer slot, a fleet of them started with its trainers up, and
 * the job and study calls through the gateway (submit, read, wait for a state; a failed job or
 * study fails the wait at once, with the fleet's logs).
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

/**
 * Starts the usual fleet (FleetProcesses.startBasicFleet) with `workers` as trainer workers
 * (trainerWorkerEnv) and waits until each has its trainer up: the gateway's `/api/v1` URL.
 */
export async function startTrainingFleet(
	cluster: FleetProcesses,
	options: { databaseUrl: string; ownerKey: string; workers: readonly string[] },
): Promise<string> {
	const base = await cluster.startBasicFleet({ ...options, workerEnv: trainerWorkerEnv() });
	const api = `${base}/api/v1`;
	await trainingJobsClient(cluster, () => api, options.ownerKey).trainersUp(options.workers);
	return api;
}

export interface Reply {
	status: number;
	body: unknown;
}

/** A study as `GET /studies/{id}` shows it, as far as these tests read it. */
export interface StudyView {
	id: string;
	state: string;
	error: string | null;
	best: { trial: number; rung: number; value: number; version?: string } | null;
	trials: {
		trial: number;
		rung: number;
		value: number | null;
		params: Record<string, unknown>;
		jobs: string[];
	}[];
}

/** What two runs of one seeded study must agree on: each trial's rung, value and parameters. */
export function trialOutcomes(study: StudyView) {
	return study.trials.map(t => ({
		trial: t.trial,
		rung: t.rung,
		value: t.value,
		params: t.params,
	}));
}

/**
 * The job and study calls of a test, on the gateway at `api()` (read when called: set in
 * beforeAll).
 */
export function trainingJobsClient(cluster: FleetProcesses, api: () => string, key: string) {
	const request = (url: string, init: { method?: string; body?: unknown } = {}): Promise<Reply> =>
		apiClient(api(), key)(url, init);

	const job = async (id: string) => (await request(`/training-jobs/${id}`)).body as JobView;

	async function enqueue(spec: Record<string, unknown>): Promise<JobView> {
		const queued = await request("/training-jobs", { method: "POST", body: spec });
		expect(queued.status).toBe(201);
		return queued.body as JobView;
	}

	/** Polls `read` until `probe` holds; a failed job or study fails at once. */
	function poll<T extends { state: string; error?: string | null }>(
		what: string,
		read: () => Promise<T>,
		probe: (view: T) => boolean,
		ms: number,
		intervalMs: number,
	): Promise<T> {
		return waitFor(
			what,
			async () => {
				const view = await read();
				if (view.state === "failed") throw new Error(`it failed: ${view.error}`);
				return probe(view) ? view : undefined;
			},
			ms,
			intervalMs,
		).catch(cluster.failWithLogs);
	}

	function waitForJob(id: string, what: string, probe: (view: JobView) => boolean, ms: number) {
		return poll(`training job ${id}: ${what}`, () => job(id), probe, ms, 150);
	}

	const completed = (id: string, ms: number) =>
		waitForJob(id, "completed", v => v.state === "completed", ms);

	const study = async (id: string) => (await request(`/studies/${id}`)).body as StudyView;

	const studyCompleted = (id: string, ms: number) =>
		poll(
			`study ${id}: completed`,
			() => study(id),
			s => s.state === "completed",
			ms,
			200,
		);

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

	return {
		request,
		job,
		enqueue,
		waitForJob,
		completed,
		study,
		studyCompleted,
		trainersUp,
	};
}
