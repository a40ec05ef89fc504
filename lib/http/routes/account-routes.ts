/**
 * /api/v1 routes of the fleet and its tenants (nodes, tenants, keys, usage and quotas), each
 * documented beside its alias (lib/http/openapi/declarations.ts).
 */
import { SERVICE } from "../../fleet/node-role";
import { arrayOf, created, documented, json, ok, schemaRef } from "../openapi/declarations";

export const ACCOUNT_ROUTES = {
	"GET nodes": documented(`${SERVICE.scheduler}.nodes`, {
		tag: "Fleet",
		summary: "List the fleet's nodes",
		responses: { 200: json("Every node: role, capacity, live status.", arrayOf("Node")) },
	}),
	"DELETE nodes/:id": documented(`${SERVICE.scheduler}.nodes.forget`, {
		tag: "Fleet",
		summary: "Forget a node that left",
		responses: { 200: ok("The node was forgotten.", "Deleted") },
		errors: [404, 409],
	}),

	"GET tenant": documented(`${SERVICE.accounts}.tenants.get`, {
		tag: "Tenants and keys",
		summary: "Show the caller's tenant",
		responses: { 200: ok("The key's tenant.", "Tenant") },
	}),
	"GET whoami": documented(`${SERVICE.accounts}.whoami`, {
		tag: "Tenants and keys",
		summary: "Show the caller's key: tenant, role, permissions",
		description: "What a client needs to show only what the key may do (the web console).",
		responses: { 200: ok("The key's tenant, role and permissions.", "Whoami") },
	}),
	"GET tenants": documented(`${SERVICE.accounts}.tenants.list`, {
		tag: "Tenants and keys",
		summary: "List tenants (admin tenant)",
		responses: { 200: json("Every tenant.", arrayOf("Tenant")) },
		errors: [403],
	}),
	"GET tenants/:id/quotas": documented(`${SERVICE.accounts}.quotas.get`, {
		tag: "Usage and quotas",
		summary: "Show a tenant's quotas",
		responses: { 200: ok("The tenant's limits.", "Quotas") },
		errors: [403, 404],
	}),
	"PUT tenants/:id/quotas": documented(`${SERVICE.accounts}.quotas.set`, {
		tag: "Usage and quotas",
		summary: "Set a tenant's quotas (admin tenant)",
		responses: { 200: ok("The tenant's limits now.", "Quotas") },
		errors: [403, 404],
	}),
	"GET usage": documented(`${SERVICE.accounts}.usage.get`, {
		tag: "Usage and quotas",
		summary: "Report usage",
		description: "JSON, or CSV for `Accept: text/csv`.",
		responses: {
			200: {
				description: "Usage by model, version and hour, and storage.",
				content: {
					"application/json": schemaRef("Usage"),
					"text/csv": { type: "string" },
				},
			},
		},
		errors: [403],
	}),
	"POST tenants": documented(`${SERVICE.accounts}.tenants.create`, {
		tag: "Tenants and keys",
		summary: "Create a tenant (admin tenant)",
		responses: {
			201: created(
				"The tenant and its owner key (shown only this once).",
				schemaRef("NewTenant"),
			),
		},
		errors: [403, 409],
	}),
	"GET keys": documented(`${SERVICE.accounts}.keys.list`, {
		tag: "Tenants and keys",
		summary: "List the tenant's API keys",
		responses: { 200: json("The keys, without their secrets.", arrayOf("Key")) },
	}),
	"POST keys": documented(`${SERVICE.accounts}.keys.create`, {
		tag: "Tenants and keys",
		summary: "Create an API key",
		responses: {
			201: created("The key, with its secret shown only this once.", schemaRef("NewKey")),
		},
		errors: [409],
	}),
	"DELETE keys/:id": documented(`${SERVICE.accounts}.keys.revoke`, {
		tag: "Tenants and keys",
		summary: "Revoke an API key",
		responses: { 200: ok("The key, revoked.", "Key") },
		errors: [404, 409],
	}),
};
