/**
 * /api/v1 routes of the scheduler (training jobs, deployments, monitoring), each documented
 * beside its alias (lib/http/openapi/declarations.ts).
 */
import { SERVICE } from "../../fleet/node-role";
import { created, documented, json, ok, page, schemaRef } from "../openapi/declarations";

export const SCHEDULER_ROUTES = {
	"POST training-jobs": documented(`${SERVICE.scheduler}.jobs.enqueue`, {
		tag: "Training",
		summary: "Start a training job",
		responses: { 201: created("The queued job.", schemaRef("TrainingJob")) },
		errors: [404, 409],
	}),
	"GET training-jobs": documented(`${SERVICE.scheduler}.jobs.list`, {
		tag: "Training",
		summary: "List training jobs",
		responses: { 200: json("A page of jobs.", page("TrainingJob")) },
	}),
	"GET training-jobs/:id": documented(`${SERVICE.scheduler}.jobs.get`, {
		tag: "Training",
		summary: "Show a training job",
		responses: { 200: ok("The job.", "TrainingJob") },
		errors: [404],
	}),
	"POST training-jobs/:id/cancel": documented(`${SERVICE.scheduler}.jobs.cancel`, {
		tag: "Training",
		summary: "Cancel a training job",
		responses: { 200: ok("The job, cancelled.", "TrainingJob") },
		errors: [404, 409],
	}),
	"GET training-jobs/:id/events": documented(`${SERVICE.api}.trainingEvents`, {
		tag: "Training",
		summary: "Follow a training job's progress",
		description:
			"Server-Sent Events: the epochs so far, then each new one as it ends, until the job " +
			"completes, fails or is cancelled.",
		responses: {
			200: {
				description:
					"An event stream: `state`, one `progress` per epoch, then `end` (JSON `data`).",
				content: { "text/event-stream": { type: "string" } },
			},
		},
		errors: [404],
	}),

	"POST models/:model/versions/:version/optimize": documented(
		`${SERVICE.scheduler}.jobs.optimize`,
		{
			tag: "Training",
			summary: "Optimize a version (graph, FP16, INT8 quantization)",
			description:
				"Queues an optimization job: `recipe` (graph, fp16, int8-dynamic, int8-static, prune, " +
				"convert) with its `params` makes the model's next minor version from this one, " +
				"evaluated against it on its training job's test split, or on the `dataset` named " +
				"(with `labelColumn`, `features`; required for an uploaded version); `acceptance` " +
				"thresholds decide Validated or Trained. See docs/optimization.md.",
			responses: { 201: created("The queued job.", schemaRef("TrainingJob")) },
			errors: [404, 409],
		},
	),
	"GET models/:model/versions/:version/optimizations": documented(
		`${SERVICE.scheduler}.jobs.optimizations`,
		{
			tag: "Training",
			summary: "Compare a version's optimizations",
			description:
				"One row per optimized version made from this one: recipe, size, accuracy change, " +
				"output agreement, latency and throughput at batch 1 and 64, state; and the " +
				"recommended one (the fastest Validated).",
			responses: { 200: json("The table.", { type: "object" }) },
			errors: [404],
		},
	),

	"GET deployments": documented(`${SERVICE.scheduler}.deployments.list`, {
		tag: "Deployments",
		summary: "List deployments",
		responses: { 200: json("A page of deployments.", page("Deployment")) },
	}),
	"POST deployments": documented(`${SERVICE.scheduler}.deployments.create`, {
		tag: "Deployments",
		summary: "Deploy a model",
		responses: { 201: created("The deployment.", schemaRef("Deployment")) },
		errors: [404, 409],
	}),
	"GET deployments/:model": documented(`${SERVICE.scheduler}.deployments.get`, {
		tag: "Deployments",
		summary: "Show a deployment",
		responses: { 200: ok("The deployment.", "Deployment") },
		errors: [404],
	}),
	"PATCH deployments/:model": documented(`${SERVICE.scheduler}.deployments.update`, {
		tag: "Deployments",
		summary: "Change a deployment",
		responses: { 200: ok("The deployment now.", "Deployment") },
		errors: [404, 409],
	}),
	"DELETE deployments/:model": documented(`${SERVICE.scheduler}.deployments.delete`, {
		tag: "Deployments",
		summary: "Undeploy a model",
		responses: { 200: ok("Which deployment was deleted.", "DeploymentDeleted") },
		errors: [404],
	}),
	"POST deployments/:model/scale": documented(`${SERVICE.scheduler}.deployments.scale`, {
		tag: "Deployments",
		summary: "Scale a deployment",
		responses: { 200: ok("The deployment now.", "Deployment") },
		errors: [404, 409],
	}),
	"POST deployments/:model/promote": documented(`${SERVICE.scheduler}.deployments.promote`, {
		tag: "Deployments",
		summary: "Promote the canary",
		responses: { 200: ok("The deployment now.", "Deployment") },
		errors: [404, 409],
	}),
	"POST deployments/:model/rollback": documented(`${SERVICE.scheduler}.deployments.rollback`, {
		tag: "Deployments",
		summary: "Roll back the canary",
		responses: { 200: ok("The deployment now.", "Deployment") },
		errors: [404, 409],
	}),
	// Monitoring (docs/monitoring.md): drift and health windows, captured payloads as NDJSON.
	"GET deployments/:model/drift": documented(`${SERVICE.scheduler}.monitoring.drift`, {
		tag: "Monitoring",
		summary: "Show a deployment's drift windows",
		responses: { 200: ok("The settings and the windows, newest first.", "Drift") },
		errors: [404],
	}),
	"GET deployments/:model/health": documented(`${SERVICE.scheduler}.monitoring.health`, {
		tag: "Monitoring",
		summary: "Show a deployment's health",
		responses: {
			200: json(
				"The last health check (score and parts); null (an empty body) before the first.",
				{
					anyOf: [schemaRef("Health"), { type: "null" }],
				},
			),
		},
		errors: [404],
	}),
	"GET deployments/:model/captures": documented(`${SERVICE.api}.exportCaptures`, {
		tag: "Monitoring",
		summary: "Export captured predictions",
		responses: {
			200: {
				description: "One captured prediction a line (inputs, outputs, id, time).",
				content: { "application/x-ndjson": { type: "string" } },
			},
		},
		errors: [404],
	}),
	"POST models/:model/feedback": documented(`${SERVICE.scheduler}.monitoring.feedback`, {
		tag: "Monitoring",
		summary: "Send ground truth for predictions",
		responses: {
			200: json("How many labels were matched to captured predictions.", { type: "object" }),
		},
		errors: [404],
	}),
};
