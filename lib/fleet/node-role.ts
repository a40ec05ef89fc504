/** The node roles; each runs a fixed set of services (docs/architecture.md). */
export const NODE_ROLES = ["all-in-one", "gateway", "control", "worker", "serving"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

export function isNodeRole(value: string): value is NodeRole {
	return (NODE_ROLES as readonly string[]).includes(value);
}

/** Service names, one constant each, so callers and readiness checks agree on them. */
export const SERVICE = {
	api: "api",
	agent: "agent",
	scheduler: "scheduler",
	accounts: "accounts",
	registry: "registry",
	artifacts: "artifacts",
	predictor: "predictor",
	trainer: "trainer",
	events: "events",
} as const;
export type ServiceName = (typeof SERVICE)[keyof typeof SERVICE];

/**
 * What each role runs. Every node runs `agent` (it reports the node's live figures).
 * `accounts` runs next to the database on control nodes, so gateways stay stateless and any
 * number of them share one set of tenants and keys.
 */
export const ROLE_SERVICES: Readonly<Record<NodeRole, readonly ServiceName[]>> = {
	"all-in-one": [
		SERVICE.agent,
		SERVICE.api,
		SERVICE.accounts,
		SERVICE.registry,
		SERVICE.artifacts,
		SERVICE.scheduler,
		SERVICE.predictor,
		SERVICE.trainer,
		SERVICE.events,
	],
	gateway: [SERVICE.agent, SERVICE.api],
	control: [
		SERVICE.agent,
		SERVICE.accounts,
		SERVICE.registry,
		SERVICE.artifacts,
		SERVICE.scheduler,
		SERVICE.events,
	],
	worker: [SERVICE.agent, SERVICE.predictor, SERVICE.trainer],
	// HTTP and predictions in one process, no hop between them: an all-in-one node's serving
	// threads (nodes/serving-threads.ts), or a fleet node that serves what it is asked locally.
	serving: [SERVICE.agent, SERVICE.api, SERVICE.predictor],
};

/**
 * The services the gateway calls: it becomes ready only once each has run somewhere in the
 * fleet — a predictor included, or nothing could predict or train behind a gateway shown ready.
 */
export const GATEWAY_DEPENDENCIES: readonly ServiceName[] = [
	SERVICE.accounts,
	SERVICE.registry,
	SERVICE.artifacts,
	SERVICE.scheduler,
	SERVICE.predictor,
];

/**
 * Those the gateway cannot do without even for a while: without a predictor nothing answers.
 * The control plane's services may go away once seen; the gateway serves from its caches
 * meanwhile and reports them as `degraded` (lib/health/readiness.ts, FallbackReadiness).
 */
export const GATEWAY_ESSENTIAL: readonly ServiceName[] = [SERVICE.predictor];

/** Whether a role keeps the metadata database (PostgreSQL, or embedded PGlite). */
export function usesDatabase(role: NodeRole): boolean {
	return ROLE_SERVICES[role].some(name => name === SERVICE.accounts || name === SERVICE.registry);
}

/** Whether a role serves HTTP. */
export function servesHttp(role: NodeRole): boolean {
	return ROLE_SERVICES[role].includes(SERVICE.api);
}
