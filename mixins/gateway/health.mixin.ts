/**
 * The gateway's health endpoints for load balancers and orchestrators (/health/live,
 * /health/ready): the process answers; every needed service runs somewhere in the fleet, or
 * has run once and is only needed for writes (lib/health/readiness.ts, FallbackReadiness).
 */
import type { Service, ServiceBroker, ServiceSchema } from "moleculer";
import { allowAnonymous } from "../../lib/accounts/access";
import type { FallbackReadiness, Readiness } from "../../lib/health/readiness";
import type { HttpContext } from "./http-context";

/** `readiness`: the gateway's one (shared with /v2/health/ready), see oip.mixin's gatewayReadiness. */
export function healthMixin(readinessOf: FallbackReadiness): Partial<ServiceSchema> {
	const observe = (broker: ServiceBroker) => {
		const available = availableServices(broker);
		readinessOf.observe(name => available.has(name));
	};
	return {
		// Every change of the fleet's services counts, not only those a probe happens to see.
		events: {
			"$services.changed"(this: Service) {
				observe(this.broker);
			},
		},
		started(this: Service) {
			observe(this.broker);
		},
		actions: {
			/** Liveness: the process answers. */
			live: allowAnonymous({
				visibility: "published",
				handler(): { status: "live"; nodeID: string } {
					return { status: "live", nodeID: this.broker.nodeID };
				},
			}),

			/** Readiness: 200 when the gateway can serve (what it lacks for writes named `degraded`), 503 with what is missing otherwise. */
			ready: allowAnonymous({
				visibility: "published",
				handler(ctx: HttpContext): Readiness & { nodeID: string } {
					const available = availableServices(this.broker);
					const readiness = readinessOf.check(this.broker.started, name =>
						available.has(name),
					);
					if (!readiness.ready) ctx.meta.$statusCode = 503;
					return { ...readiness, nodeID: this.broker.nodeID };
				},
			}),
		},
	};
}

/** The names of the services with an available instance somewhere in the fleet. */
export function availableServices(broker: ServiceBroker): Set<string> {
	return new Set(
		broker.registry
			.getServiceList({ onlyAvailable: true, skipInternal: true })
			.map(service => String(service.name)),
	);
}
