/**
 * A study's progress on the gateway: `GET /api/v1/studies/{id}/events` as Server-Sent Events.
 * A study's trials are many jobs over hours, so rather than follow each job's events the stream
 * reads the study (its view from the scheduler) every second and sends a `progress` event when
 * it changed — trials started and finished, epochs run, the best trial — then `end` once the
 * study is over. A client that reconnects gets the current view first.
 */
import type { ServiceSchema } from "moleculer";
import { requires } from "../../lib/accounts/access";
import { TooManyInFlightError } from "../../lib/errors";
import { SERVICE } from "../../lib/fleet/node-role";
import { EventStreams } from "../../lib/http/event-stream";
import type { HttpContext } from "./http-context";

export interface StudyEventsOptions {
	/** Event streams one API key may hold open; more answers 429. Default 16. */
	maxStreamsPerKey?: number;
	/** How often an open stream reads its study, ms. Default 1000. */
	studyPollMs?: number;
}

interface StudyView {
	id: string;
	state: string;
	trialsStarted: number;
	trialsFinished: number;
	epochsRun: number;
	best: unknown;
	error: string | null;
}

const OVER = ["completed", "failed", "cancelled"];

/** What a `progress` event says; a change in it is worth an event. */
function progressOf(view: StudyView) {
	const { id, state, trialsStarted, trialsFinished, epochsRun, best, error } = view;
	return { id, state, trialsStarted, trialsFinished, epochsRun, best, error };
}

export function studyEventsMixin(options: StudyEventsOptions): Partial<ServiceSchema> {
	const streams = new EventStreams();
	const maxStreamsPerKey = options.maxStreamsPerKey ?? 16;
	const pollMs = options.studyPollMs ?? 1000;

	return {
		actions: {
			/** `GET /api/v1/studies/{id}/events`: the study's progress as Server-Sent Events. */
			studyEvents: requires("models.read", {
				params: { id: { type: "uuid" } },
				async handler(ctx: HttpContext<{ id: string }>) {
					const read = () =>
						ctx.call<StudyView, { id: string }>(`${SERVICE.scheduler}.studies.get`, {
							id: ctx.params.id,
						});
					const first = await read();
					ctx.meta.$responseType = "text/event-stream";
					ctx.meta.$responseHeaders = {
						"Cache-Control": "no-cache",
						"X-Accel-Buffering": "no",
					};
					const owner = ctx.meta.keyId ?? "";
					if (streams.openBy(owner) >= maxStreamsPerKey)
						throw new TooManyInFlightError(
							"event streams",
							maxStreamsPerKey,
							"MODELFLEET_MAX_STREAMS_PER_KEY",
						);
					// A topic per stream: each follows the study on its own timer.
					const topic = `${first.id}:${Math.random().toString(36).slice(2)}`;
					const stream = streams.open(
						topic,
						[{ event: "progress", data: progressOf(first) }],
						owner,
					);
					if (OVER.includes(first.state)) {
						streams.close(topic, "end", progressOf(first));
						return stream;
					}
					let last = JSON.stringify(progressOf(first));
					const timer = setInterval(() => {
						read().then(
							view => {
								const now = progressOf(view);
								if (OVER.includes(view.state))
									return streams.close(topic, "end", now);
								if (JSON.stringify(now) !== last)
									streams.publish(topic, "progress", now);
								last = JSON.stringify(now);
							},
							(err: unknown) =>
								streams.close(topic, "end", { error: (err as Error).message }),
						);
					}, pollMs);
					timer.unref();
					stream.once("close", () => clearInterval(timer));
					stream.once("finish", () => clearInterval(timer));
					return stream;
				},
			}),
		},
	};
}
