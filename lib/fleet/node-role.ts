/** The node roles of DESIGN.md; each runs a fixed set of services. */
export const NODE_ROLES = ["all-in-one", "gateway", "control", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

export function isNodeRole(value: string): value is NodeRole {
	return (NODE_ROLES as readonly string[]).includes(value);
}

/** Service names, one constant each, so callers and readiness checks agree on them. */
export const SERVICE = {
	api: "api",
	agent: "agent",
	scheduler: "scheduler",
} as const;
export type ServiceName = (typeof SERVICE)[keyof typeof SERVICE];

/**
 * What each role runs. Every node runs `agent` (it reports the node's live figures).
 * Later services (registry, artifacts, accounts, predictor, trainer) join their roles here.
 */
export const ROLE_SERVICES: Readonly<Record<NodeRole, readonly ServiceName[]>> = {
	"all-in-one": [SERVICE.agent, SERVICE.api, SERVICE.scheduler],
	gateway: [SERVICE.agent, SERVICE.api],
	control: [SERVICE.agent, SERVICE.scheduler],
	worker: [SERVICE.agent],
};

/** The services the gateway calls: it is ready only when each runs somewhere in the fleet. */
export const GATEWAY_DEPENDENCIES: readonly ServiceName[] = [SERVICE.scheduler];

/** Whether a role serves HTTP. */
export function servesHttp(role: NodeRole): boolean {
	return ROLE_SERVICES[role].includes(SERVICE.api);
}
