/**
 * Who is calling, found once per request before moleculer-web's rate limiter runs (it runs
 * before authentication), so that limits count per API key id. A route middleware resolves the
 * key to its identity and keeps the outcome on the request; the gateway's `authenticate` hook
 * then uses that outcome instead of asking again. Without a key, or with one that does not
 * resolve, the limit counts per client address.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Identity } from "../accounts/accounts-store";
import { apiKeyFromHeaders } from "./api-key-header";

/** What the middleware found: the identity, or why the key did not resolve. */
export type CallerOutcome =
	| { kind: "anonymous" }
	| { kind: "identified"; identity: Identity }
	| { kind: "refused"; error: unknown };

export type CallerRequest = IncomingMessage & { $caller?: CallerOutcome };

/** Resolves a presented key to its identity (cached by the caller), throwing 401 for a bad one. */
export type IdentityResolver = (req: IncomingMessage, key: string) => Promise<Identity>;

/** A moleculer-web route middleware (`use`) that resolves the caller once; it never fails the request itself. */
export function callerMiddleware(
	resolve: IdentityResolver,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
	return (req, _res, next) => {
		const target = req as CallerRequest;
		const key = apiKeyFromHeaders(req.headers);
		if (key === null) {
			target.$caller = { kind: "anonymous" };
			next();
			return;
		}
		resolve(req, key).then(
			identity => {
				target.$caller = { kind: "identified", identity };
				next();
			},
			(error: unknown) => {
				target.$caller = { kind: "refused", error };
				next();
			},
		);
	};
}

/** The client's address as the socket sees it (proxies' headers are not trusted). */
export function clientAddress(req: IncomingMessage): string {
	return req.socket?.remoteAddress ?? "unknown";
}

/** The rate-limit key of a request: its API key id once resolved, else its address. */
export function rateLimitKey(req: IncomingMessage): string {
	const caller = (req as CallerRequest).$caller;
	return caller?.kind === "identified"
		? `key:${caller.identity.keyId}`
		: `ip:${clientAddress(req)}`;
}
