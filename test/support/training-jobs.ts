/**
 * Training-queue jobs (training and optimization) as the integration tests drive them through a
 * test node's client (test-node.ts): wait for a job to complete (a failed job fails the wait at
 * once), train a version, queue an optimization and read the version it made, or its refusal.
 * The cluster tests' counterpart is training-fleet.ts.
 */
import type { VersionView } from "../../lib/registry/version-store";
import type { JobView } from "../../lib/scheduler/job-store";
import type { TestNode } from "./test-node";
import { waitFor } from "./wait";

type Request = TestNode["request"];

/** Polls job `id` until it has completed; throws at once if it failed. */
export function completedJob(request: Request, id: string, timeoutMs = 60_000): Promise<JobView> {
	return waitFor(
		`job ${id} completed`,
		async () => {
			const view = (await request(`/training-jobs/${id}`)).body as JobView;
			if (view.state === "failed") throw new Error(`job failed: ${view.error}`);
			return view.state === "completed" ? view : undefined;
		},
		timeoutMs,
	);
}

/** Submits a training job (it must answer 201), waits for it to complete: the version it made. */
export async function trainVersion(
	request: Request,
	spec: Record<string, unknown>,
): Promise<string> {
	const job = await request("/training-jobs", { method: "POST", body: spec });
	expect(job.status).toBe(201);
	return ((await completedJob(request, (job.body as JobView).id)).result as { version: string })
		.version;
}

/** Asks for an optimization of `model@version` with `body` (it must answer 201): its job. */
export async function queueOptimization(
	request: Request,
	model: string,
	version: string,
	body: Record<string, unknown>,
): Promise<JobView> {
	const queued = await request(`/models/${model}/versions/${version}/optimize`, {
		method: "POST",
		body,
	});
	expect(queued.status).toBe(201);
	return queued.body as JobView;
}

export interface Optimized {
	/** The completed job's result: the version made and the state it got. */
	result: { version: string; state: string };
	/** That version as the registry shows it. */
	version: VersionView;
}

/** Queues an optimization of `model@version` and waits for it: what it made. */
export async function optimizeVersion(
	request: Request,
	model: string,
	version: string,
	body: Record<string, unknown>,
): Promise<Optimized> {
	const job = await completedJob(
		request,
		(await queueOptimization(request, model, version, body)).id,
	);
	const result = job.result as Optimized["result"];
	const made = (await request(`/models/${model}/versions/${result.version}`)).body as VersionView;
	return { result, version: made };
}

/** Asks for an optimization of `model@version` with `body`, which must answer 400: its error. */
export async function refusedOptimization(
	request: Request,
	model: string,
	version: string,
	body: Record<string, unknown>,
): Promise<{ message: string; data?: { field?: string } }> {
	const response = await request(`/models/${model}/versions/${version}/optimize`, {
		method: "POST",
		body,
	});
	expect(response.status).toBe(400);
	return response.body as { message: string; data?: { field?: string } };
}
