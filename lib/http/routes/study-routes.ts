/**
 * /api/v1 routes of hyperparameter studies and runs (docs/studies.md), served by the scheduler
 * (mixins/scheduler/studies.mixin.ts), each documented beside its alias.
 */
import { SERVICE } from "../../fleet/node-role";
import { created, documented, json, ok, page, schemaRef } from "../openapi/declarations";

export const STUDY_ROUTES = {
	"POST studies": documented(`${SERVICE.scheduler}.studies.create`, {
		tag: "Studies",
		summary: "Start a hyperparameter study",
		description:
			"A base training spec, a search space, an objective, a budget, parallelism and a " +
			"searcher (random, grid, asha, tpe). Trials are training jobs on the fleet's trainers; " +
			"the best trial's version is registered at the end.",
		responses: { 201: created("The study, running.", schemaRef("Study")) },
		errors: [404],
	}),
	"GET studies": documented(`${SERVICE.scheduler}.studies.list`, {
		tag: "Studies",
		summary: "List studies",
		responses: { 200: json("A page of studies.", page("Study")) },
	}),
	"GET studies/:id": documented(`${SERVICE.scheduler}.studies.get`, {
		tag: "Studies",
		summary: "Show a study and its trials",
		responses: { 200: ok("The study.", "Study") },
		errors: [404],
	}),
	"POST studies/:id/cancel": documented(`${SERVICE.scheduler}.studies.cancel`, {
		tag: "Studies",
		summary: "Cancel a study (its running trials stop)",
		responses: { 200: ok("The study, cancelled.", "Study") },
		errors: [404, 409],
	}),
	"GET studies/:id/events": documented(`${SERVICE.api}.studyEvents`, {
		tag: "Studies",
		summary: "Follow a study's progress",
		description:
			"Server-Sent Events: a `progress` event whenever a trial starts, reports or ends " +
			"(the study's view), then `end` when it completes, fails or is cancelled.",
		responses: {
			200: {
				description: "An event stream: `progress` events, then `end` (JSON `data`).",
				content: { "text/event-stream": { type: "string" } },
			},
		},
		errors: [404],
	}),

	"GET runs": documented(`${SERVICE.scheduler}.runs.list`, {
		tag: "Runs",
		summary: "List runs (training jobs), filtered and sorted",
		description:
			"Filters: `study`, `model`, `tag`. `sort=metric:<name>` (a final metric, e.g. " +
			"`metric:val_accuracy` or `metric:test_accuracy`) or `createdAt` (default); `order=asc|desc`.",
		responses: { 200: json("A page of runs.", page("Run")) },
	}),
	"GET runs/compare": documented(`${SERVICE.scheduler}.runs.compare`, {
		tag: "Runs",
		summary: "Compare runs side by side",
		description:
			"`ids`: 2–20 run ids, comma-separated. Parameters and final metrics lined up per run.",
		responses: { 200: ok("The comparison.", "RunComparison") },
		errors: [404],
	}),
	"GET runs/:id": documented(`${SERVICE.scheduler}.runs.get`, {
		tag: "Runs",
		summary: "Show a run",
		responses: { 200: ok("The run.", "Run") },
		errors: [404],
	}),
	"PATCH runs/:id": documented(`${SERVICE.scheduler}.runs.tag`, {
		tag: "Runs",
		summary: "Set a run's tags",
		responses: { 200: ok("The run.", "Run") },
		errors: [404],
	}),
};
