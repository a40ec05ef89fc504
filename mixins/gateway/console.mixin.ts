/**
 * The web console on the gateway (docs/console.md): `GET /` answers its page and
 * `GET /console/{file}` its hashed script and style sheet (lib/http/console-assets.ts), with
 * ETags, gzip where accepted and no key (the page asks for one and calls /api/v1 with it).
 */
import type { IncomingMessage } from "node:http";
import type { ServiceSchema } from "moleculer";
import { allowAnonymous } from "../../lib/accounts/access";
import { ConsoleAssets, consoleAnswer, type ServedFile } from "../../lib/http/console-assets";
import type { HttpContext, HttpMeta } from "./http-context";

/** The request headers the console's answers depend on, copied before the call. */
export interface ConsoleRequestMeta extends HttpMeta {
	consoleRequest?: { ifNoneMatch?: string; acceptEncoding?: string };
}

/** The route's `onBeforeCall`: notes the conditional and encoding headers. */
export function noteConsoleRequest(
	ctx: { meta: ConsoleRequestMeta },
	_route: unknown,
	req: IncomingMessage,
): void {
	const ifNoneMatch = req.headers["if-none-match"];
	const acceptEncoding = req.headers["accept-encoding"];
	ctx.meta.consoleRequest = {
		...(typeof ifNoneMatch === "string" ? { ifNoneMatch } : {}),
		...(typeof acceptEncoding === "string" ? { acceptEncoding } : {}),
	};
}

function serve(ctx: HttpContext, file: ServedFile): Buffer | null {
	const meta = ctx.meta as ConsoleRequestMeta;
	const answer = consoleAnswer(file, meta.consoleRequest ?? {});
	meta.$statusCode = answer.status;
	meta.$responseType = file.type;
	meta.$responseHeaders = answer.headers;
	return answer.body;
}

export function consoleMixin(assets = new ConsoleAssets()): Partial<ServiceSchema> {
	return {
		actions: {
			/** `GET /`: the console's page. */
			consolePage: allowAnonymous({
				async handler(ctx: HttpContext): Promise<Buffer | null> {
					return serve(ctx, await assets.page());
				},
			}),

			/** `GET /console/{file}`: the page's script and style sheet. */
			consoleFile: allowAnonymous({
				params: { file: { type: "string", min: 1, max: 128, pattern: /^[\w.-]+$/ } },
				async handler(ctx: HttpContext<{ file: string }>): Promise<Buffer | null> {
					return serve(ctx, await assets.asset(ctx.params.file));
				},
			}),
		},
	};
}
