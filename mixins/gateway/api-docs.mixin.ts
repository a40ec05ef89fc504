/**
 * The API's description on the gateway: `GET /api/openapi.json`, generated from the route
 * table and the declarations beside each route (lib/http/openapi.ts), and the Swagger UI page
 * that renders it at `/docs`, served from the installed `swagger-ui-dist` (lib/http/api-docs.ts).
 */
import type { ServiceSchema } from "moleculer";
import { allowAnonymous } from "../../lib/accounts/access";
import { API_DOCS_CSP, ApiDocs, type ApiDocsFile } from "../../lib/http/api-docs";
import { buildOpenApiDocument, type OpenApiAlias } from "../../lib/http/openapi";
import { MODELFLEET_VERSION } from "../../lib/version";
import type { HttpContext } from "./http-context";

/** Answers a file of the page with its type and policy; the files change only with the package. */
function serve(ctx: HttpContext, file: ApiDocsFile): Buffer | string {
	ctx.meta.$responseType = file.type;
	ctx.meta.$responseHeaders = {
		"Content-Security-Policy": API_DOCS_CSP,
		"X-Content-Type-Options": "nosniff",
		"Cache-Control": "public, max-age=3600",
	};
	return file.body;
}

export function apiDocsMixin(docs = new ApiDocs()): Partial<ServiceSchema> {
	return {
		actions: {
			/** `GET /api/openapi.json`: the OpenAPI 3.1 document of every route. */
			openapi: allowAnonymous({
				handler(): unknown {
					const service = this as unknown as { aliases: OpenApiAlias[] };
					const actions = new Map(
						this.broker.registry
							.getActionList({ skipInternal: true })
							.map(item => [item.name, item.action]),
					);
					return buildOpenApiDocument(
						service.aliases,
						name => actions.get(name) as { params?: unknown } | undefined,
						{ title: "modelfleet", version: MODELFLEET_VERSION },
					);
				},
			}),

			/** `GET /docs`: the Swagger UI page. */
			docsPage: allowAnonymous({
				handler(ctx: HttpContext): Buffer | string {
					return serve(ctx, docs.page());
				},
			}),

			/** `GET /docs/{file}`: the page's scripts, styles and icons. */
			docsFile: allowAnonymous({
				params: { file: { type: "string", min: 1, max: 64, pattern: /^[\w.-]+$/ } },
				handler(ctx: HttpContext<{ file: string }>): Buffer | string {
					return serve(ctx, docs.file(ctx.params.file));
				},
			}),
		},
	};
}
