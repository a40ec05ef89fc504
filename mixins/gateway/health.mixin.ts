/**
 * The gateway's health endpoints for load balancers and orchestrators (/health/live,
 * /health/ready): the process answers; every needed service runs somewhere in the fleet
 * (lib/health/readiness.ts).
 */
import type { ServiceSchema } from "moleculer";
import { allowAnonymous } from "../../lib/accounts/access";
import { checkReadiness, type Readiness } from "../../lib/health/readiness";
import type { HttpContext } from "./http-context";

export interface HealthOptions {
	/** Services that must be available in the fleet for this gateway to be ready. */
	neededServices: readonly string[];
}

export function healthMixin(options: HealthOptions): Partial<ServiceSchema> {
	return {
		actions: {
			/** Liveness: the process answers. */
			live: allowAnonymous({
				visibility: "published",
				handler(): { status: "live"; nodeID: string } {
					return { status: "live", nodeID: this.broker.nodeID };
				},
			}),

			/** Readiness: 200 when every needed service runs somewhere in the fleet, 503 with what is missing otherwise. */
			ready: allowAnonymous({
				visibility: "published",
				handler(ctx: HttpContext): Readiness & { nodeID: string } {
					const available = new Set(
						this.broker.registry
							.getServiceList({ onlyAvailable: true, skipInternal: true })
							.map(service => String(service.name)),
					);
					const readiness = checkReadiness(
						this.broker.started,
						options.neededServices,
						name => available.has(name),
					);
					if (!readiness.ready) ctx.meta.$statusCode = 503;
					return { ...readiness, nodeID: this.broker.nodeID };
				},
			}),
		},
	};
}
