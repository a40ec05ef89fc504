/**
 * Downloads through the gateway: a version's files streamed from the artifacts service in
 * ranged parts (lib/artifacts/artifact-read-stream.ts; memory stays about one part), with the
 * sha256 as ETag, `If-None-Match` and one `Range` (lib/http/byte-range.ts).
 */
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type { ServiceSchema } from "moleculer";
import { requires } from "../../lib/accounts/access";
import { ARTIFACT_ACTIONS, type ArtifactStat } from "../../lib/artifacts/artifact-protocol";
import { artifactReadStream } from "../../lib/artifacts/artifact-read-stream";
import { NotFoundError, RangeNotSatisfiableError } from "../../lib/errors";
import { SERVICE } from "../../lib/fleet/node-role";
import { chooseRange, etagMatches } from "../../lib/http/byte-range";
import type { VersionFile } from "../../lib/registry/version-files";
import type { HttpContext, HttpMeta } from "./http-context";

/** A request header as one string (Node joins repeated ones, but types allow an array). */
function headerText(value: string | string[] | undefined): string | undefined {
	return Array.isArray(value) ? value.join(", ") : value;
}

/** A download request's conditional and range headers, for the route's `onBeforeCall`. */
export function downloadHeaders(req: IncomingMessage): HttpMeta["download"] {
	return {
		range: req.headers.range,
		ifRange: headerText(req.headers["if-range"]),
		ifNoneMatch: headerText(req.headers["if-none-match"]),
	};
}

export function downloadsMixin(): Partial<ServiceSchema> {
	return {
		actions: {
			/**
			 * `GET /api/v1/models/{model}/versions/{version}/files/{path}`: the file's bytes, streamed
			 * from the artifacts service in ranged parts (memory stays about one part). `ETag` is the
			 * sha256; `If-None-Match` answers 304; one `Range: bytes=…` answers 206 (416 past the end).
			 */
			downloadFile: requires("models.read", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", min: 1, max: 128 },
					path: { type: "string", min: 1, max: 256 },
				},
				async handler(
					ctx: HttpContext<{ model: string; version: string; path: string }>,
				): Promise<Readable | null> {
					const { model, version, path: name } = ctx.params;
					const listed = await ctx.call<
						{ ref: string; files: VersionFile[] },
						{ model: string; version: string }
					>(`${SERVICE.registry}.versions.files`, { model, version });
					const file = listed.files.find(f => f.path === name);
					if (!file) throw new NotFoundError("file", `${listed.ref}/${name}`);
					// Held by the caller's tenant (NOT_FOUND otherwise), and where its bytes are.
					const stat = await ctx.call<ArtifactStat, { sha256: string }>(
						ARTIFACT_ACTIONS.stat,
						{ sha256: file.sha256 },
					);
					const etag = `"${file.sha256}"`;
					const headers = ctx.meta.download ?? {};
					const common = {
						ETag: etag,
						"Accept-Ranges": "bytes",
						"Cache-Control": "private, max-age=0, must-revalidate",
					};
					if (etagMatches(headers.ifNoneMatch, etag)) {
						ctx.meta.$statusCode = 304;
						ctx.meta.$responseHeaders = common;
						return null;
					}
					const range = chooseRange(headers.range, stat.size, {
						header: headers.ifRange,
						etag,
					});
					if (range.kind === "unsatisfiable")
						throw new RangeNotSatisfiableError(headers.range ?? "", stat.size);
					const start = range.kind === "partial" ? range.start : 0;
					const length = range.kind === "partial" ? range.end - start + 1 : stat.size;
					ctx.meta.$responseType = "application/octet-stream";
					ctx.meta.$responseHeaders = {
						...common,
						"Content-Length": String(length),
						"Content-Disposition": `attachment; filename="${file.path}"`,
						...(range.kind === "partial"
							? { "Content-Range": `bytes ${start}-${range.end}/${stat.size}` }
							: {}),
					};
					if (range.kind === "partial") ctx.meta.$statusCode = 206;
					// Parts outlive this action's own deadline: each has the broker's timeout.
					const meta = {
						tenant: ctx.meta.tenant,
						role: ctx.meta.role,
						keyId: ctx.meta.keyId,
					};
					return artifactReadStream(
						(action, params, options) =>
							this.broker.call(action, params, { ...options, meta }),
						file.sha256,
						{ size: stat.size, offset: start, length, nodeID: stat.nodeID },
					);
				},
			}),
		},
	};
}
