/**
 * api — the HTTP gateway (moleculer-web). Health endpoints for load balancers and
 * orchestrators, and the REST API under /api/v1. Later issues add the Open Inference
 * Protocol under /v2, auth and rate limits as routes and hooks here.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import { checkReadiness, type Readiness } from "../lib/health/readiness";
import { toErrorResponse } from "../lib/http/error-response";
import { SERVICE } from "../lib/fleet/node-role";

export interface ApiServiceOptions {
	host: string;
	port: number;
	/** Services that must be available in the fleet for this gateway to be ready. */
	neededServices: readonly string[];
}

interface HttpMeta {
	$statusCode?: number;
}

export function apiService(options: ApiServiceOptions): ServiceSchema<ApiSettingsSchema> {
	return {
		name: SERVICE.api,
		mixins: [ApiGateway],

		settings: {
			host: options.host,
			port: options.port,
			// Health answers first: probes must not wait behind anything else.
			routes: [
				{
					path: "/health",
					mappingPolicy: "restrict",
					aliases: {
						"GET live": `${SERVICE.api}.live`,
						"GET ready": `${SERVICE.api}.ready`,
					},
				},
				{
					path: "/api/v1",
					mappingPolicy: "restrict",
					bodyParsers: { json: { limit: "1mb" } },
					aliases: {
						"GET nodes": `${SERVICE.scheduler}.nodes`,
					},
				},
			],

			onError(
				this: { logger: { error(...args: unknown[]): void } },
				_req: IncomingMessage,
				res: ServerResponse,
				err: unknown,
			) {
				const { status, body } = toErrorResponse(err);
				if (status >= 500 && status !== 503) this.logger.error("Request failed:", err);
				res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
				res.end(JSON.stringify(body));
			},
		},

		actions: {
			/** Liveness: the process answers. */
			live: {
				visibility: "published",
				handler(): { status: "live"; nodeID: string } {
					return { status: "live", nodeID: this.broker.nodeID };
				},
			},

			/** Readiness: 200 when every needed service runs somewhere in the fleet, 503 with what is missing otherwise. */
			ready: {
				visibility: "published",
				handler(ctx: Context<unknown, HttpMeta>): Readiness & { nodeID: string } {
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
			},
		},
	};
}
