/**
 * The REPL's calls carry its session's signed identity: moleculer-repl's raw `call` (and any
 * other call made without one) goes out with the identity `fleet login <key>` got from
 * accounts, so it acts as that key and nothing else — whatever `--#tenant` it names, the fleet
 * believes only the signed identity. Before a login such calls go without one, and every
 * service refuses them.
 */
import type { CallingOptions, Middleware } from "moleculer";
import type { RequestMeta } from "../accounts/access";

type CallFn = (action: string, params?: unknown, opts?: CallingOptions) => Promise<unknown>;

/** Actions that need no identity, and that renewing one calls (so never waits for itself). */
const WITHOUT_IDENTITY = new Set(["accounts.authenticate"]);

export function sessionIdentityMiddleware(token: () => Promise<string | null>): Middleware {
	return {
		name: "SessionIdentity",
		call(next: CallFn): CallFn {
			return (action, params, opts) => {
				const own = opts?.meta as RequestMeta | undefined;
				const inherited = (opts?.parentCtx?.meta as RequestMeta | undefined)?.identity;
				if (WITHOUT_IDENTITY.has(action) || own?.identity || inherited) {
					return next(action, params, opts);
				}
				return token().then(identity =>
					next(
						action,
						params,
						identity === null ? opts : { ...opts, meta: { ...own, identity } },
					),
				);
			};
		},
	} as unknown as Middleware;
}
