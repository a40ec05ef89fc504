/**
 * Caller authentication and rate limiting for the gateway: the one caller check
 * (lib/http/caller.ts) as moleculer-web's `authenticate` hook of keyed routes, as the count of
 * public routes (the `countAnonymous` route middleware), and as `checkCaller` for the direct
 * infer route; it signs the caller's identity for the services (the fleet secret). Owns the
 * identity cache and the rate counter (memory, or Redis shared by every gateway).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import type { Identity } from "../../lib/accounts/accounts-store";
import type { FleetTrust, TenantIdentity } from "../../lib/accounts/fleet-trust";
import type { DomainEventMethods } from "../domain-events.mixin";
import type { Permission } from "../../lib/accounts/roles";
import { SERVICE } from "../../lib/fleet/node-role";
import { CallerCheck } from "../../lib/http/caller";
import Redis from "ioredis";
import { EVENTS } from "../../lib/events";
import { createRateCounter } from "../../lib/http/rate-limit";
import { PredictionQuota } from "../../lib/quotas/prediction-quota";
import type { Quotas } from "../../lib/quotas/quota-spec";
import {
	MemorySharedCount,
	RedisSharedCount,
	type SharedCount,
} from "../../lib/quotas/shared-count";
import {
	resolveRateLimitOptions,
	type RateLimitOptions,
} from "../../lib/http/rate-limit/rate-limit-options";
import { ROUTING_KEY_HEADER, gatewayMixin, type HttpMeta } from "./http-context";

export interface CallerOptions {
	/** Signs the identity of each authenticated request (the fleet secret). */
	trust: FleetTrust;
	/**
	 * How long an authenticated key, and a tenant's quotas, are trusted without asking accounts
	 * again (a revoked key works this long; MODELFLEET_ACCOUNTS_CACHE_MS); default 10 s.
	 */
	accountsCacheMs?: number;
	/**
	 * How long a verified key keeps working while no control node answers (accounts unreachable),
	 * ms after accounts last confirmed it (MODELFLEET_CONTROL_OUTAGE_S); default 0: never.
	 */
	controlOutageMs?: number;
	/** How long a request waits for accounts when it holds an older answer (MODELFLEET_CONTROL_WAIT_MS). */
	controlWaitMs?: number;
	/** Rate limits per API key id (per client address on public routes); default off. */
	rateLimit?: Partial<RateLimitOptions>;
	/**
	 * The prediction quotas: how often gateways reconcile their counts (ms, default 1000) and
	 * the prefix of the shared counts' keys in Redis (the rate limits' server, when it has one).
	 */
	predictionQuota?: { syncMs: number; keyPrefix: string };
}

/** Where the gateways add up their prediction counts: Redis when the rate limits have one. */
function sharedCount(
	redisUrl: string | null,
	keyPrefix: string,
	onError: (err: unknown) => void,
): SharedCount {
	if (redisUrl === null) return new MemorySharedCount();
	const redis = new Redis(redisUrl, {
		enableOfflineQueue: false,
		maxRetriesPerRequest: 1,
		commandTimeout: 1000,
	});
	redis.on("error", onError);
	return new RedisSharedCount(redis, keyPrefix);
}

export interface CallerMethods {
	/** The caller check with `permission` for `action` (named in a 403): see lib/http/caller.ts. */
	checkCaller(
		req: IncomingMessage,
		res: ServerResponse,
		permission: Permission | undefined,
		action: string,
	): Promise<Identity>;
	/** The caller's identity signed, as the services verify it (ctx.meta.identity). */
	signIdentity(identity: TenantIdentity): string;
	/** A request on a route that needs no key, counted per client address (429 over the limit). */
	countAnonymousCaller(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/**
 * The route middleware (`use`) of routes that need no key: counts the request per client
 * address, before the alias is resolved, as moleculer-web's own limiter would. moleculer-web
 * calls route middlewares with the service as `this`.
 */
export function countAnonymous(
	this: CallerMethods,
	req: IncomingMessage,
	res: ServerResponse,
	next: (err?: unknown) => void,
): void {
	this.countAnonymousCaller(req, res).then(() => next(), next);
}

/** What moleculer-web resolved a route to: the action's definition, with its permission. */
interface GuardedActionInfo {
	name?: string;
	permission?: Permission;
}

/** How long a request waits for a tenant's quotas this gateway never read, ms. */
const QUOTA_FIRST_READ_WAIT_MS = 500;

/** What a gateway logs when accounts stops (or starts again) answering its key checks. */
function accountsOutageMessage(down: boolean, err: unknown, outageMs: number): string {
	return down
		? `Accounts cannot be reached (${(err as Error)?.message ?? String(err)}): API keys verified in the last ${Math.round(outageMs / 1000)} s are accepted from this gateway's cache until a control node answers.`
		: "Accounts answer again: API keys are verified by accounts.";
}

export function callerMixin(options: CallerOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the lifecycle hooks and
	// the checkCaller, signIdentity, authenticate and countAnonymousCaller methods, each short,
	// sharing the rate limits.
	const limits = resolveRateLimitOptions(options.rateLimit);
	let check: CallerCheck | null = null;
	const callerCheck = (): CallerCheck => {
		if (check === null) throw new Error("The caller check is made when the service is.");
		return check;
	};

	return gatewayMixin<CallerMethods>({
		created() {
			check = new CallerCheck({
				authenticate: key =>
					this.broker.call<Identity, { key: string }>(
						`${SERVICE.accounts}.authenticate`,
						{ key },
					),
				keyCacheMs: options.accountsCacheMs ?? 10_000,
				controlOutageMs: options.controlOutageMs ?? 0,
				controlWaitMs: options.controlWaitMs ?? 0,
				onOutage: (down, err) =>
					this.logger.warn(
						accountsOutageMessage(down, err, options.controlOutageMs ?? 0),
					),
				limits,
			});
			let lastQuotaWarning = 0;
			const quotaStoreFailed = (err: unknown): void => {
				// Decided on this gateway's own counts meanwhile; say so, but not per request.
				if (Date.now() - lastQuotaWarning < 10_000) return;
				lastQuotaWarning = Date.now();
				this.logger.warn(
					`Prediction quotas: the shared count failed (${(err as Error).message}).`,
				);
			};
			check.predictionQuota = new PredictionQuota({
				// Under this node's own identity: any tenant's quotas are the gateway's to read.
				loadQuotas: tenant =>
					this.broker.call<Quotas, { tenant: string }>(
						`${SERVICE.accounts}.quotas.ofTenant`,
						{ tenant },
					),
				shared: sharedCount(
					limits.redisUrl,
					options.predictionQuota?.keyPrefix ?? "modelfleet:quota:",
					quotaStoreFailed,
				),
				syncMs: options.predictionQuota?.syncMs ?? 1000,
				...(options.accountsCacheMs !== undefined
					? { quotaCacheMs: options.accountsCacheMs }
					: {}),
				// Never held up by a control plane that does not answer (docs/operations.md).
				...(options.controlOutageMs !== undefined
					? { controlOutageMs: options.controlOutageMs }
					: {}),
				// A tenant's first quota read: allowed past this rather than held up.
				controlWaitMs: QUOTA_FIRST_READ_WAIT_MS,
				// Through the domain-events mixin: also a durable event (docs/events.md).
				onExceeded: (tenant, refusal) =>
					void (this as unknown as DomainEventMethods).emitEvent(
						EVENTS.resourceLimitExceeded,
						{
							tenant,
							keyId: null,
							nodeID: this.broker.nodeID,
							quota: refusal.quota,
							kind: refusal.kind,
							limit: refusal.limit,
							current: refusal.current,
						},
					),
				onError: quotaStoreFailed,
			});
			check.predictionQuota.start();
			if (limits.limit === 0) return;
			let lastWarning = 0;
			check.counter = createRateCounter(limits, err => {
				// A Redis outage lets requests through uncounted; say so, but not per request.
				if (Date.now() - lastWarning < 10_000) return;
				lastWarning = Date.now();
				this.logger.warn(
					`Rate limits are not counted: the store failed (${(err as Error).message}).`,
				);
			});
		},

		async started() {
			// Requests before Redis answers would go uncounted: give it a moment at start.
			const counter = check?.counter;
			if (counter && !(await counter.ready(5000)))
				this.logger.warn(
					"Rate limits: Redis is not answering yet; requests pass uncounted until it does.",
				);
		},

		async stopped() {
			const counter = check?.counter;
			const quota = check?.predictionQuota;
			if (check) {
				check.counter = null;
				check.predictionQuota = null;
			}
			await counter?.close();
			await quota?.close();
		},

		methods: {
			checkCaller(req, res, permission, action) {
				return callerCheck().check(req, res, permission, action);
			},

			signIdentity(identity) {
				return options.trust.sign(identity);
			},

			/** moleculer-web's hook of keyed routes: the caller check, then its identity in ctx.meta. */
			async authenticate(
				ctx: Context<unknown, HttpMeta>,
				_route: unknown,
				req: IncomingMessage & { $action?: GuardedActionInfo },
				res: ServerResponse,
			): Promise<Identity> {
				// The role is checked here, before the action validates its parameters: a caller
				// who may not do something hears 403, not how to fix a request it may not send.
				const action = req.$action;
				const identity = await callerCheck().check(
					req,
					res,
					action?.permission,
					action?.name ?? "this action",
				);
				ctx.meta.tenant = identity.tenant;
				ctx.meta.role = identity.role;
				ctx.meta.keyId = identity.keyId;
				// What the services believe: this gateway vouches for the key it authenticated.
				ctx.meta.identity = options.trust.sign(identity);
				// Requests with one routing key see one version of a split (canary) deployment.
				const routingKey = req.headers[ROUTING_KEY_HEADER];
				if (typeof routingKey === "string" && routingKey.length > 0) {
					ctx.meta.routingKey = routingKey.slice(0, 256);
				}
				return identity;
			},

			countAnonymousCaller(req, res) {
				return callerCheck().countAnonymous(req, res);
			},
		},
	});
}
