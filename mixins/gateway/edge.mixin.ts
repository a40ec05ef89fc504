/**
 * What the gateway's HTTP server does before any route: the edge check of every request's path
 * and query (lib/http/request-target.ts: NUL, invalid UTF-8 or a malformed escape answers 400),
 * the body guard (lib/http/body-guard.ts: bytes in flight per caller and in all, idle bodies,
 * declared lengths), then the direct OIP infer route (the OIP mixin's `serveDirectInfer`) or
 * moleculer-web. `guardRequests` installs it once moleculer-web has made its server.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { ServiceSchema } from "moleculer";
import { PayloadTooLargeError } from "../../lib/errors";
import { apiKeyFromHeaders } from "../../lib/http/api-key-header";
import { BodyGuard, type BodyKind } from "../../lib/http/body-guard";
import { ByteBudget } from "../../lib/http/byte-budget";
import { clientAddress } from "../../lib/http/caller";
import { restError } from "../../lib/http/error-response";
import { isMultipart } from "../../lib/http/multipart-file";
import { oipError } from "../../lib/http/oip-http";
import { requestTargetProblem } from "../../lib/http/request-target";
import {
	observingRequests,
	pinRequestId,
	writeRequestId,
} from "../../lib/observability/http-request";
import { writesJsonLogs } from "../../lib/observability/log-context";
import type { StreamRequestTest } from "../../lib/http/stream-aliases";
import { gatewayMixin } from "./http-context";
import { DEFAULT_MAX_BODY_BYTES, type OipMethods } from "./oip.mixin";
import { DEFAULT_MAX_DATASET_BYTES } from "./uploads.mixin";

/** Most bytes of a JSON body on /api/v1 (moleculer-web's body parser had the same). */
export const JSON_BODY_BYTES = 1024 ** 2;
/** A multipart upload's file is the limit; its framing may take a little more. */
const MULTIPART_SLACK_BYTES = 1024 ** 2;

export interface EdgeOptions {
	/** Most bytes of a /v2 body (see OipOptions). */
	maxBodyBytes?: number;
	/** Most bytes a dataset upload may have (see UploadsOptions). */
	maxDatasetBytes?: number;
	/** Most bytes an upload (artifact, model file) may have; a larger declared length answers 413 before reading. Default 2 GiB. */
	maxUploadBytes?: number;
	/**
	 * Bytes of bodies held in memory (JSON, inference, repository) per caller and in total;
	 * more answers 429 / 503. Default 128 MiB and 512 MiB.
	 */
	inFlightBytes?: { perKey: number; total: number };
	/** A body that sends nothing this long is dropped (408), ms. Default 30 s. */
	bodyIdleTimeoutMs?: number;
}

/** Which /api/v1 requests stream their bodies to an action, from the route table. */
export interface StreamRoutes {
	/** Any `stream:` alias (uploads and batch predictions). */
	stream: StreamRequestTest;
	/** Uploads stored as artifacts (MODELFLEET_MAX_ARTIFACT_BYTES). */
	file: StreamRequestTest;
	/** Dataset uploads. */
	dataset: StreamRequestTest;
}

export interface EdgeMethods {
	guardRequests(): void;
}

/**
 * The gateway's one budget of request bytes in flight, per caller and in total: HTTP bodies it
 * holds (the body guard) and gRPC messages (mixins/gateway/grpc.mixin.ts) take from it alike.
 */
export function gatewayByteBudget(options: Pick<EdgeOptions, "inFlightBytes">): ByteBudget {
	return new ByteBudget({
		perKeyBytes: options.inFlightBytes?.perKey ?? 128 * 1024 ** 2,
		totalBytes: options.inFlightBytes?.total ?? 512 * 1024 ** 2,
	});
}

/** Whose bytes a request's are: the API key it presents, else the client's address. */
export function budgetKeyOf(req: IncomingMessage): string {
	const key = apiKeyFromHeaders(req.headers);
	return key !== null ? `key:${key}` : `ip:${clientAddress(req)}`;
}

export function edgeMixin(
	options: EdgeOptions,
	routes: StreamRoutes,
	budget = gatewayByteBudget(options),
): Partial<ServiceSchema> {
	const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	const maxUploadBytes = options.maxUploadBytes ?? 2 * 1024 ** 3;
	const maxDatasetBytes = options.maxDatasetBytes ?? DEFAULT_MAX_DATASET_BYTES;

	/** What a request's body is, for the body guard: uploads stream, the rest is held in memory. */
	const bodyKind = (req: IncomingMessage): BodyKind => {
		const { method, url } = req;
		const multipart = isMultipart(req.headers["content-type"]);
		const upload = (limit: number): BodyKind => ({
			buffered: false,
			maxBytes: limit + (multipart ? MULTIPART_SLACK_BYTES : 0),
			tooLarge: () => new PayloadTooLargeError(limit),
		});
		if (url?.startsWith("/api/v1/") && routes.stream(method, url)) {
			if (routes.file(method, url)) return upload(maxUploadBytes);
			if (routes.dataset(method, url)) return upload(maxDatasetBytes);
			return { buffered: false, maxBytes: Number.MAX_SAFE_INTEGER }; // batch predictions
		}
		return {
			buffered: true,
			maxBytes: url?.startsWith("/v2/") ? maxBodyBytes : JSON_BODY_BYTES,
		};
	};
	let guard: BodyGuard | null = null;

	return gatewayMixin<EdgeMethods & OipMethods>({
		stopped() {
			guard?.close();
		},

		methods: {
			/** Puts the edge check, the body guard and the direct infer route in front of moleculer-web. */
			guardRequests(): void {
				const server = (this as unknown as { server?: Server }).server;
				if (!server) return;
				const fallback = server.listeners("request") as Array<
					(req: IncomingMessage, res: ServerResponse) => void
				>;
				server.removeAllListeners("request");
				const bodyGuard = new BodyGuard({
					budget,
					idleTimeoutMs: options.bodyIdleTimeoutMs ?? 30_000,
					classify: bodyKind,
					callerKey: budgetKeyOf,
					writeError: (req, res, err) =>
						(req.url?.startsWith("/v2/") ? oipError : restError).call(
							this,
							req,
							res,
							err,
						),
				});
				guard = bodyGuard;
				const jsonLogs = writesJsonLogs(this.broker.options.logger);
				const serve = (req: IncomingMessage, res: ServerResponse) => {
					const refused = requestTargetProblem(req.url);
					if (refused !== null) {
						req.resume();
						const write = req.url?.startsWith("/v2") ? oipError : restError;
						write.call(this, req, res, refused);
						return;
					}
					if (!bodyGuard.admit(req, res)) return;
					if (this.serveDirectInfer(req, res)) return;
					writeRequestId(res);
					pinRequestId(res);
					for (const listener of fallback) listener.call(server, req, res);
				};
				// Every answer says its request id, whatever answers it (errors, 404s, direct infer).
				server.on("request", observingRequests(serve, jsonLogs));
			},
		},
	});
}
