/**
 * The gateway's one caller check, for every route that needs a key — moleculer-web's routes
 * (through the `authenticate` hook) and the direct OIP infer route alike, with rate limits on
 * or off: the API key → its identity (tenant, role, key id; cached for a short time) → the
 * request counted in the rate limiter (per key id; per client address without a key that
 * resolves) → 401 for a missing or bad key → 403 for a role without the permission. The count
 * comes before the refusals, as moleculer-web's limiter did: guessing keys is limited too, and
 * a caller over the limit hears 429 whatever else is wrong. Routes that need no key count per
 * address only (`countAnonymous`). Last, a `predict` request counts against its tenant's
 * prediction quotas (lib/quotas/prediction-quota.ts: 429 RESOURCE_LIMIT_EXCEEDED over one).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Identity } from "../accounts/accounts-store";
import { can, rolesWith, type Permission } from "../accounts/roles";
import {
	ForbiddenError,
	RateLimitedError,
	ResourceLimitExceededError,
	UnauthenticatedError,
} from "../errors";
import type { PredictionQuota } from "../quotas/prediction-quota";
import { apiKeyFromHeaders } from "./api-key-header";
import type { RateCounter } from "./rate-limit";
import type { RateLimitOptions } from "./rate-limit/rate-limit-options";
import { FallbackCache } from "../cache/fallback-cache";

export interface CallerCheckOptions {
	/** Asks who a key belongs to (accounts.authenticate); rejects with 401 for a bad one. */
	authenticate(key: string): Promise<Identity>;
	/** How long an identity is trusted without asking again (a revoked key works this long). */
	keyCacheMs: number;
	/**
	 * How long a verified identity keeps being accepted while accounts cannot answer (no control
	 * node), after accounts last confirmed it; 0: never (lib/cache/fallback-cache.ts).
	 */
	controlOutageMs?: number;
	/** How long a request waits for accounts when it holds an older identity, ms. Default 500. */
	controlWaitMs?: number;
	/** Told when keys start (or stop) being accepted from the cache because accounts is unreachable. */
	onOutage?: (down: boolean, err?: unknown) => void;
	/** The rate limits; `limit` 0 turns counting off. */
	limits: Pick<Readonly<RateLimitOptions>, "limit" | "windowMs">;
	now?: () => number;
}

/** The client's address as the socket sees it (proxies' headers are not trusted). */
export function clientAddress(req: IncomingMessage): string {
	return req.socket?.remoteAddress ?? "unknown";
}

export class CallerCheck {
	/** Where requests are counted; set once the store exists (Redis connects when the service is created). */
	counter: RateCounter | null = null;
	/** The tenants' prediction rate quotas, counted for every `predict` request allowed. */
	predictionQuota: PredictionQuota | null = null;
	private readonly identities: FallbackCache<Identity>;
	private readonly limit: number;
	private readonly windowMs: number;
	private readonly now: () => number;

	constructor(private readonly options: CallerCheckOptions) {
		this.identities = new FallbackCache<Identity>({
			freshMs: options.keyCacheMs,
			staleMs: options.controlOutageMs ?? 0,
			waitMs: options.controlWaitMs ?? 500,
			maxEntries: 10_000,
			...(options.now ? { now: options.now } : {}),
			...(options.onOutage ? { onOutage: options.onOutage } : {}),
		});
		this.limit = options.limits.limit;
		this.windowMs = options.limits.windowMs;
		this.now = options.now ?? Date.now;
	}

	/** Whether requests are counted at all. */
	get limited(): boolean {
		return this.limit > 0;
	}

	/**
	 * The caller of `req`, allowed `permission` (none: any role) for `action` (named in a 403);
	 * rejects with 429, 401 or 403 in that order. Over the limit nothing is set on `res`; under
	 * it the X-Rate-Limit-* headers are.
	 */
	async check(
		req: IncomingMessage,
		res: ServerResponse,
		permission: Permission | undefined,
		action: string,
	): Promise<Identity> {
		const key = apiKeyFromHeaders(req.headers);
		let identity: Identity | undefined;
		let refusal: unknown = null;
		if (key === null) refusal = new UnauthenticatedError();
		else {
			try {
				identity = await this.identities.get(key, () => this.options.authenticate(key));
			} catch (err) {
				refusal = err;
			}
		}
		if (this.limit > 0)
			await this.count(
				identity !== undefined ? `key:${identity.keyId}` : `ip:${clientAddress(req)}`,
				res,
			);
		if (identity === undefined) throw refusal;
		if (permission !== undefined && !can(identity.role, permission))
			throw new ForbiddenError(identity.role, `call ${action}`, rolesWith(permission));
		if (permission === "predict" && this.predictionQuota !== null) {
			const refusal = await this.predictionQuota.admit(identity.tenant);
			if (refusal !== null)
				throw new ResourceLimitExceededError(
					refusal.quota,
					refusal.kind,
					refusal.limit,
					refusal.current,
					refusal.retryAfterMs,
				);
		}
		return identity;
	}

	/** A request on a route that needs no key: counted per client address. */
	async countAnonymous(req: IncomingMessage, res: ServerResponse): Promise<void> {
		if (this.limit > 0) await this.count(`ip:${clientAddress(req)}`, res);
	}

	private async count(key: string, res: ServerResponse): Promise<void> {
		const counter = this.counter;
		if (counter === null) return;
		const { count, resetAt } = await counter.hit(key);
		if (count > this.limit)
			throw new RateLimitedError(this.limit, this.windowMs, resetAt - this.now());
		res.setHeader("X-Rate-Limit-Limit", this.limit);
		res.setHeader("X-Rate-Limit-Remaining", this.limit - count);
		res.setHeader("X-Rate-Limit-Reset", resetAt);
	}
}
