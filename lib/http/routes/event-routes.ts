/**
 * /api/v1 routes of the durable domain events (docs/events.md): read back, followed live as
 * Server-Sent Events, and sent to the tenant's webhooks; each documented beside its alias
 * (lib/http/openapi/declarations.ts).
 */
import { SERVICE } from "../../fleet/node-role";
import { arrayOf, created, documented, json, ok, page, schemaRef } from "../openapi/declarations";

export const EVENT_ROUTES = {
	"GET events": documented(`${SERVICE.events}.list`, {
		tag: "Events and webhooks",
		summary: "Read the tenant's events",
		description:
			"Oldest first after `after` (a cursor from an earlier answer; `now`: none, and the " +
			"cursor of the newest); `order=desc`: newest first, then those older than `after`. " +
			"Either way the next page is `after=<nextCursor>`, with the same `order`.",
		responses: {
			200: ok("A page of events, in `order`, as CloudEvents.", "EventPage"),
		},
	}),
	"GET events/stream": documented(`${SERVICE.api}.eventStream`, {
		tag: "Events and webhooks",
		summary: "Follow the tenant's events live",
		description:
			"Server-Sent Events: `id` (the cursor), `event` (the type), `data` (the CloudEvent). " +
			"Send `Last-Event-ID` to resume after it; the stream ends after 5 minutes with `retry`.",
		parameters: [
			{
				name: "Last-Event-ID",
				in: "header",
				description: "The last event's id this client got: the stream resumes after it.",
				schema: { type: "string" },
			},
		],
		responses: {
			200: {
				description: "An event stream.",
				content: { "text/event-stream": { type: "string" } },
			},
		},
	}),
	"GET webhooks": documented(`${SERVICE.events}.webhooks.list`, {
		tag: "Events and webhooks",
		summary: "List webhook endpoints",
		responses: { 200: json("The endpoints, without secrets.", arrayOf("Webhook")) },
	}),
	"POST webhooks": documented(`${SERVICE.events}.webhooks.create`, {
		tag: "Events and webhooks",
		summary: "Register a webhook endpoint",
		responses: {
			201: created(
				"The endpoint, with its signing secret shown only this once.",
				schemaRef("Webhook"),
			),
		},
	}),
	"GET webhooks/:id": documented(`${SERVICE.events}.webhooks.get`, {
		tag: "Events and webhooks",
		summary: "Show a webhook endpoint",
		responses: { 200: ok("The endpoint.", "Webhook") },
		errors: [404],
	}),
	"PATCH webhooks/:id": documented(`${SERVICE.events}.webhooks.update`, {
		tag: "Events and webhooks",
		summary: "Change a webhook endpoint or rotate its secret",
		responses: {
			200: ok("The endpoint (with the new secret, once, when rotated).", "Webhook"),
		},
		errors: [404],
	}),
	"DELETE webhooks/:id": documented(`${SERVICE.events}.webhooks.delete`, {
		tag: "Events and webhooks",
		summary: "Delete a webhook endpoint",
		responses: { 200: ok("The endpoint that was deleted.", "Webhook") },
		errors: [404],
	}),
	"GET webhooks/:id/deliveries": documented(`${SERVICE.events}.webhooks.deliveries`, {
		tag: "Events and webhooks",
		summary: "List an endpoint's deliveries",
		responses: {
			200: json("A page of deliveries with their attempts.", page("WebhookDelivery")),
		},
		errors: [404],
	}),
	"POST webhooks/:id/deliveries/:delivery/redeliver": documented(
		`${SERVICE.events}.webhooks.redeliver`,
		{
			tag: "Events and webhooks",
			summary: "Deliver an event again",
			responses: { 200: ok("The delivery, queued again.", "WebhookDelivery") },
			errors: [404],
		},
	),
};
