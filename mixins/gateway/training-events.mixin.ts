/**
 * The training event stream on the gateway: `GET /api/v1/training-jobs/{id}/events` as
 * Server-Sent Events — the epochs so far, then each new one as it ends, until the job completes,
 * fails or is cancelled — fed by the trainers' broadcast events (lib/http/event-stream.ts).
 */
import type { Context, ServiceSchema } from "moleculer";
import { requires } from "../../lib/accounts/access";
import { TooManyInFlightError } from "../../lib/errors";
import {
	EVENTS,
	type TrainingCompletedEvent,
	type TrainingFailedEvent,
	type TrainingProgressEvent,
	type TrainingStartedEvent,
} from "../../lib/events";
import { SERVICE } from "../../lib/fleet/node-role";
import { EventStreams } from "../../lib/http/event-stream";
import type { JobView } from "../../lib/scheduler/job-store";
import type { HttpContext } from "./http-context";

export interface TrainingEventsOptions {
	/** Event streams one API key may hold open; more answers 429. Default 16. */
	maxStreamsPerKey?: number;
}

export function trainingEventsMixin(options: TrainingEventsOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the four training events
	// feeding the SSE streams and the trainingEvents action that opens one.
	/** Open SSE streams of training jobs, fed by the trainers' broadcast events. */
	const streams = new EventStreams();
	const maxStreamsPerKey = options.maxStreamsPerKey ?? 16;

	return {
		events: {
			[EVENTS.trainingStarted](ctx: Context<TrainingStartedEvent>) {
				const { jobId, nodeID, fromEpoch, backend, device } = ctx.params;
				streams.publish(jobId, "state", {
					state: "running",
					nodeID,
					fromEpoch,
					backend,
					device,
				});
			},
			[EVENTS.trainingProgress](ctx: Context<TrainingProgressEvent>) {
				const { jobId, epoch, epochs, metrics, samplesPerSecond, etaMs, nodeID } =
					ctx.params;
				streams.publish(jobId, "progress", {
					epoch,
					epochs,
					metrics,
					samplesPerSecond,
					etaMs,
					nodeID,
				});
			},
			[EVENTS.trainingCompleted](ctx: Context<TrainingCompletedEvent>) {
				const { jobId, version, state, metrics, bestEpoch, epochsRun, stoppedEarly } =
					ctx.params;
				streams.close(jobId, "end", {
					state: "completed",
					result: { version, state, metrics, bestEpoch, epochsRun, stoppedEarly },
				});
			},
			[EVENTS.trainingFailed](ctx: Context<TrainingFailedEvent>) {
				const { jobId, reason, final, nodeID } = ctx.params;
				if (final) streams.close(jobId, "end", { state: "failed", error: reason });
				else
					streams.publish(jobId, "state", {
						state: "queued",
						reason,
						lostNode: nodeID,
					});
			},
		},

		actions: {
			/** `GET /api/v1/training-jobs/{id}/events`: the job's state and epochs as Server-Sent Events. */
			trainingEvents: requires("models.read", {
				params: { id: { type: "uuid" } },
				async handler(ctx: HttpContext<{ id: string }>) {
					const job = await ctx.call<JobView, { id: string }>(
						`${SERVICE.scheduler}.jobs.get`,
						{ id: ctx.params.id },
					);
					ctx.meta.$responseType = "text/event-stream";
					ctx.meta.$responseHeaders = {
						"Cache-Control": "no-cache",
						"X-Accel-Buffering": "no",
					};
					const backlog = [
						{
							event: "state",
							data: { state: job.state, nodeID: job.nodeID, epoch: job.epoch },
						},
						...job.progress.map(p => ({ event: "progress", data: p })),
					];
					// Counted from here to its close, with no wait in between: no race past the limit.
					const owner = ctx.meta.keyId ?? "";
					if (streams.openBy(owner) >= maxStreamsPerKey)
						throw new TooManyInFlightError(
							"event streams",
							maxStreamsPerKey,
							"MODELFLEET_MAX_STREAMS_PER_KEY",
						);
					const stream = streams.open(job.id, backlog, owner);
					if (job.state !== "queued" && job.state !== "running") {
						streams.close(job.id, "end", {
							state: job.state,
							result: job.result,
							error: job.error,
						});
					}
					return stream;
				},
			}),
		},
	};
}
