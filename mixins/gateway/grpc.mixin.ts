/**
 * The KServe v2 / Triton gRPC protocol on the gateway (proto/grpc_service.proto), on a port of
 * its own (MODELFLEET_GRPC_PORT): the same caller check as HTTP (the key in the `authorization:
 * Bearer …` or `x-api-key` metadata, rate limits, roles, quotas; lib/http/caller.ts), the same
 * actions behind the metadata, configuration, readiness, statistics and repository RPCs
 * (api.v2Model … api.repositoryLoad, called with the caller's signed identity as moleculer-web
 * calls them), and inference through the direct HTTP route's own `predictor.infer` call (the
 * OIP mixin's `oipInfer`, coalesced where that is on) with the request the binary tensor
 * extension's parser makes (lib/grpc/infer-messages.ts). Messages larger than the /v2 body
 * limit are refused RESOURCE_EXHAUSTED by grpc-js, and inference messages hold their bytes from
 * the gateway's in-flight budget, shared with HTTP bodies, until answered; errors answer the
 * gRPC code of their HTTP status (lib/grpc/grpc-status.ts). `ModelStreamInfer` answers each
 * request of a stream in order, a failed one with its `error_message`, a few at a time (the
 * stream pauses beyond that).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import {
	Server,
	ServerCredentials,
	status,
	type sendUnaryData,
	type ServerDuplexStream,
	type ServerUnaryCall,
	type ServiceDefinition,
	type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { CallingOptions, ServiceBroker, ServiceSchema } from "moleculer";
import type { Identity } from "../../lib/accounts/accounts-store";
import { can, rolesWith, type Permission } from "../../lib/accounts/roles";
import { ForbiddenError } from "../../lib/errors";
import { SERVICE } from "../../lib/fleet/node-role";
import { toGrpcError } from "../../lib/grpc/grpc-status";
import {
	inferRequestOf,
	inferResponseOf,
	parametersOf,
	type GrpcInferRequest,
	type GrpcInferResponse,
	type GrpcParameter,
} from "../../lib/grpc/infer-messages";
import { inferenceService } from "../../lib/grpc/proto";
import { budgetRefusalError, DEFAULT_RETRY_AFTER_MS } from "../../lib/http/body-guard";
import type { ByteBudget } from "../../lib/http/byte-budget";
import { inferResponseParts } from "../../lib/http/infer-request";
import { structuredResult } from "../../lib/http/json-answer";
import { oipVersionRef } from "../../lib/http/oip-http";
import type { RoutingMeta } from "../../lib/routing/traffic-middleware";
import { observedCall, setCallParent } from "../../lib/observability/http-request";
import type { CallerMethods } from "./caller.mixin";
import { budgetKeyOf } from "./edge.mixin";
import { ROUTING_KEY_HEADER, gatewayMixin } from "./http-context";
import { DEFAULT_MAX_BODY_BYTES, type OipMethods } from "./oip.mixin";

export interface GrpcOptions {
	/** The gRPC port (0: any free one); null: no gRPC server. */
	grpcPort?: number | null;
	/** Where it listens (the HTTP host). */
	host: string;
	/** The HTTP certificate and key: gRPC is served over TLS too. */
	https?: { cert: Buffer; key: Buffer } | null;
	/** The /v2 body limit: the largest gRPC message taken. */
	maxBodyBytes?: number;
}

export interface GrpcMethods {
	/** The port the gRPC server listens on, once started; null when it does not. */
	grpcPort(): number | null;
}

/** Calls open at once on one client connection (HTTP/2 streams); more wait for one to end. */
const MAX_CONCURRENT_STREAMS = 128;

/** Requests of one ModelStreamInfer stream being served at once; more wait (the stream pauses). */
const STREAM_WINDOW = 32;

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerDuplexStream<unknown, unknown>;

/** The size on the wire of each inference message received, for the byte budget. */
const messageBytes = new WeakMap<object, number>();

/** The service's definition with its inference requests' sizes noted as they are decoded. */
function measuredDefinition(definition: ServiceDefinition): ServiceDefinition {
	const measured = (name: string) => {
		const method = definition[name];
		return {
			...method,
			requestDeserialize: (bytes: Buffer) => {
				const message: unknown = method.requestDeserialize(bytes);
				if (typeof message === "object" && message !== null)
					messageBytes.set(message, bytes.length);
				return message;
			},
		};
	};
	return {
		...definition,
		ModelInfer: measured("ModelInfer"),
		ModelStreamInfer: measured("ModelStreamInfer"),
	};
}

/** The HTTP request and response the caller check reads and writes, from a call's metadata. */
function callerExchange(call: AnyCall): { req: IncomingMessage; res: ServerResponse } {
	const first = (name: string): string | undefined => {
		const value = call.metadata.get(name)[0];
		return typeof value === "string" ? value : undefined;
	};
	const peer = call.getPeer();
	const address = peer.replace(/^(ipv[46]:)?\[?([^\]]*?)\]?:\d+$/, "$2");
	const req = {
		headers: {
			authorization: first("authorization"),
			"x-api-key": first("x-api-key"),
		},
		socket: { remoteAddress: address },
	} as unknown as IncomingMessage;
	// Rate-limit headers have nowhere to go in gRPC; the limits still count and refuse.
	const res = { setHeader: () => res } as unknown as ServerResponse;
	return { req, res };
}

/** How long the call may take: the client's deadline, when it set one. */
function deadlineMs(call: AnyCall): number | undefined {
	const deadline = call.getDeadline();
	const at = deadline instanceof Date ? deadline.getTime() : deadline;
	if (!Number.isFinite(at)) return undefined;
	return Math.max(1, at - Date.now());
}

/**
 * `budget`: the gateway's bytes in flight (mixins/gateway/edge.mixin.ts): each inference
 * message holds its size from the caller's share and the total until it is answered, as an
 * HTTP body does, so many connections cannot together hold more than the total.
 */
export function grpcMixin(options: GrpcOptions, budget: ByteBudget): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the server's lifecycle
	// and one short handler per RPC.
	let server: Server | null = null;
	let boundPort: number | null = null;

	return gatewayMixin<GrpcMethods & CallerMethods>({
		async started() {
			if (options.grpcPort === undefined || options.grpcPort === null) return;
			const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
			server = new Server({
				"grpc.max_receive_message_length": maxBytes,
				"grpc.max_send_message_length": -1,
				// Bounds what one connection holds in memory: this many messages of the limit at most.
				"grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
			});
			const handlers = rpcHandlers(this as unknown as GatewayPorts, budget);
			server.addService(measuredDefinition(inferenceService().definition), handlers);
			const credentials = options.https
				? ServerCredentials.createSsl(
						null,
						[{ cert_chain: options.https.cert, private_key: options.https.key }],
						false,
					)
				: ServerCredentials.createInsecure();
			const host = options.host.includes(":") ? `[${options.host}]` : options.host;
			boundPort = await new Promise<number>((resolve, reject) =>
				server?.bindAsync(`${host}:${options.grpcPort}`, credentials, (err, port) =>
					err ? reject(err) : resolve(port),
				),
			);
			this.logger.info(`KServe v2 gRPC on ${options.host}:${boundPort}.`);
		},

		async stopped() {
			const closing = server;
			server = null;
			boundPort = null;
			if (closing === null) return;
			await new Promise<void>(resolve => {
				const force = setTimeout(() => {
					closing.forceShutdown();
					resolve();
				}, 5000);
				closing.tryShutdown(() => {
					clearTimeout(force);
					resolve();
				});
			});
		},

		methods: {
			grpcPort() {
				return boundPort;
			},
		},
	});
}

/** What the RPC handlers use of the gateway service: its caller check, broker and logger. */
type GatewayPorts = GrpcMethods &
	CallerMethods &
	OipMethods & {
		broker: ServiceBroker;
		logger: { error(...args: unknown[]): void };
	};

/**
 * The handlers of `inference.GRPCInferenceService`, for the gateway `svc`.
 */
function rpcHandlers(svc: GatewayPorts, budget: ByteBudget): UntypedServiceImplementation {
	// Long because it is the table of the RPCs (a declaration, not a procedure): a few shared
	// helpers (the caller check, an action call, the unary wrapper), then one short handler each.
	/** The caller check for an RPC: the identity, and the options of its calls. */
	const caller = async (
		call: AnyCall,
		permission: Permission,
		action: string,
	): Promise<{ identity: Identity; opts: CallingOptions }> => {
		const { req, res } = callerExchange(call);
		const identity = await svc.checkCaller(req, res, permission, action);
		const routingKey = call.metadata.get(ROUTING_KEY_HEADER)[0];
		const text = (name: string) => {
			const value = call.metadata.get(name)[0];
			return typeof value === "string" ? value : undefined;
		};
		// W3C trace context and request id from the metadata, as the HTTP edge takes them.
		const observed = observedCall(text("traceparent"), text("x-request-id"));
		const meta: RoutingMeta = {
			requestId: observed.requestId,
			tenant: identity.tenant,
			role: identity.role,
			keyId: identity.keyId,
			identity: svc.signIdentity(identity),
			...(typeof routingKey === "string" && routingKey.length > 0
				? { routingKey: routingKey.slice(0, 256) }
				: {}),
		};
		if (observed.call) setCallParent(meta, observed.call);
		const timeout = deadlineMs(call);
		return {
			identity,
			opts: { meta, ...observed.call, ...(timeout !== undefined ? { timeout } : {}) },
		};
	};
	const anonymous = async (call: AnyCall): Promise<void> => {
		const { req, res } = callerExchange(call);
		await svc.countAnonymousCaller(req, res);
	};
	/** An action of this gateway, called as its HTTP route calls it (JSON body as a stream). */
	const action = <T>(
		name: string,
		params: object,
		opts: CallingOptions,
		body?: unknown,
	): Promise<T> =>
		svc.broker.call<T, object>(`${SERVICE.api}.${name}`, params, {
			...opts,
			...(body !== undefined
				? { stream: Readable.from([Buffer.from(JSON.stringify(body))]) }
				: {}),
		});
	const failed = (err: unknown) => {
		const answer = toGrpcError(err);
		if (answer.code === status.INTERNAL) svc.logger.error("gRPC request failed:", err);
		return answer;
	};
	const unary =
		<Q, A>(handle: (request: Q, call: ServerUnaryCall<Q, A>) => Promise<A>) =>
		(call: ServerUnaryCall<Q, A>, callback: sendUnaryData<A>): void => {
			handle(call.request, call).then(
				answer => callback(null, answer),
				(err: unknown) => callback(failed(err)),
			);
		};

	/** Takes the message's bytes from the budget (or refuses); gives them back when called. */
	const hold = (message: object, call: AnyCall): (() => void) => {
		const bytes = messageBytes.get(message) ?? 0;
		const key = budgetKeyOf(callerExchange(call).req);
		const refusal = budget.take(key, bytes);
		if (refusal !== null)
			throw budgetRefusalError(budget.limits, refusal, DEFAULT_RETRY_AFTER_MS);
		return () => budget.give(key, bytes);
	};

	const infer = async (message: GrpcInferRequest, call: AnyCall): Promise<GrpcInferResponse> => {
		const release = hold(message, call);
		try {
			return await inferHeld(message, call);
		} finally {
			release();
		}
	};

	const inferHeld = async (
		message: GrpcInferRequest,
		call: AnyCall,
	): Promise<GrpcInferResponse> => {
		const { opts } = await caller(call, "predict", `${SERVICE.api}.v2Infer`);
		const { request, model, version } = inferRequestOf(message);
		// The direct HTTP route's own call (coalesced to remote predictors where that is on).
		const { result } = await svc.oipInfer(
			{
				...request,
				...oipVersionRef(version !== undefined ? { model, version } : { model }),
			},
			opts.meta as RoutingMeta,
		);
		// gRPC requests are parsed here, never forwarded as JSON: the answer is the result itself.
		return inferResponseOf(inferResponseParts(structuredResult(result), false));
	};

	/**
	 * A stream is refused as a whole when its metadata carries no valid key or the role may
	 * not predict; each request is then checked (and counted) as a unary one is.
	 */
	const openStream = async (call: AnyCall): Promise<void> => {
		const { req, res } = callerExchange(call);
		const identity = await svc.checkCaller(req, res, undefined, `${SERVICE.api}.v2Infer`);
		if (!can(identity.role, "predict"))
			throw new ForbiddenError(
				identity.role,
				`call ${SERVICE.api}.v2Infer`,
				rolesWith("predict"),
			);
	};

	const ref = (request: { name?: string; version?: string }) =>
		request.version
			? { model: request.name ?? "", version: request.version }
			: { model: request.name ?? "" };

	const handlers: UntypedServiceImplementation = {
		ServerLive: unary(async (_request, call) => {
			await anonymous(call);
			return { live: true };
		}),
		ServerReady: unary(async (_request, call) => {
			await anonymous(call);
			return action<{ ready: boolean }>("v2Ready", {}, {});
		}),
		ServerMetadata: unary(async (_request, call) => {
			await anonymous(call);
			return action("v2Server", {}, {});
		}),
		ModelReady: unary(async (request: { name?: string; version?: string }, call) => {
			const { opts } = await caller(call, "models.read", `${SERVICE.api}.v2ModelReady`);
			const answer = await action<{ ready: boolean }>("v2ModelReady", ref(request), opts);
			return { ready: answer.ready };
		}),
		ModelMetadata: unary(async (request: { name?: string; version?: string }, call) => {
			const { opts } = await caller(call, "models.read", `${SERVICE.api}.v2Model`);
			return action("v2Model", ref(request), opts);
		}),
		// Triton's ModelConfig as the JSON of `GET …/config`: its enum names are the proto's.
		ModelConfig: unary(async (request: { name?: string; version?: string }, call) => {
			const { opts } = await caller(call, "models.read", `${SERVICE.api}.v2ModelConfig`);
			return { config: await action("v2ModelConfig", ref(request), opts) };
		}),
		ModelInfer: unary((request: GrpcInferRequest, call) => infer(request, call)),
		ModelStreamInfer: (call: ServerDuplexStream<GrpcInferRequest, unknown>) =>
			void openStream(call).then(
				() => serveStream(call, infer),
				(err: unknown) =>
					// grpc-js ends a server stream with the status of an emitted error.
					call.emit("error", Object.assign(new Error("refused"), failed(err))),
			),
		ModelStatistics: unary(async (request: { name?: string; version?: string }, call) => {
			const { opts } = await caller(call, "models.read", `${SERVICE.api}.v2Stats`);
			const params = request.name ? ref(request) : {};
			return action("v2Stats", params, opts);
		}),
		RepositoryIndex: unary(async (request: { ready?: boolean }, call) => {
			const { opts } = await caller(call, "models.read", `${SERVICE.api}.repositoryIndex`);
			const models = await action<unknown[]>("repositoryIndex", {}, opts, {
				ready: request.ready === true,
			});
			return { models };
		}),
		RepositoryModelLoad: unary(
			async (
				request: {
					model_name?: string;
					parameters?: Record<string, GrpcParameter>;
				},
				call,
			) => {
				const { opts } = await caller(
					call,
					"deployments.write",
					`${SERVICE.api}.repositoryLoad`,
				);
				const parameters = parametersOf(request.parameters);
				await action("repositoryLoad", { model: request.model_name ?? "" }, opts, {
					...(parameters !== undefined ? { parameters } : {}),
				});
				return {};
			},
		),
		RepositoryModelUnload: unary(async (request: { model_name?: string }, call) => {
			const { opts } = await caller(
				call,
				"deployments.write",
				`${SERVICE.api}.repositoryUnload`,
			);
			await action("repositoryUnload", { model: request.model_name ?? "" }, opts, {});
			return {};
		}),
	};
	return handlers;
}

/**
 * Serves a ModelStreamInfer stream: each request answered in the order sent, with its result
 * or its `error_message` (the stream goes on); at most STREAM_WINDOW served at once. An error
 * that is not one request's (the client went away) ends the stream.
 */
function serveStream(
	call: ServerDuplexStream<GrpcInferRequest, unknown>,
	infer: (message: GrpcInferRequest, call: AnyCall) => Promise<GrpcInferResponse>,
): void {
	let tail: Promise<void> = Promise.resolve();
	let pending = 0;
	let ended = false;
	const finishIfDone = (): void => {
		if (ended && pending === 0) call.end();
	};
	call.on("data", (message: GrpcInferRequest) => {
		pending++;
		if (pending >= STREAM_WINDOW) call.pause();
		const answer = infer(message, call).then(
			infer_response => ({ error_message: "", infer_response }),
			(err: unknown) => ({ error_message: toGrpcError(err).details ?? "failed" }),
		);
		tail = tail
			.then(() => answer)
			.then(response => {
				try {
					if (!call.cancelled && !call.destroyed) call.write(response);
				} catch {
					// The client went away meanwhile: nothing left to answer.
				}
				pending--;
				if (pending < STREAM_WINDOW && call.isPaused()) call.resume();
				finishIfDone();
			});
	});
	call.on("end", () => {
		ended = true;
		void tail.then(finishIfDone);
	});
	call.on("error", () => {
		ended = true;
	});
}
