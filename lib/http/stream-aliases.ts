/**
 * Which requests of a route go to `stream:` aliases (uploads): their bodies belong to the
 * action, so the route's JSON body parser must leave them alone — an XGBoost model or an
 * NDJSON batch sent as `application/json` would otherwise be parsed away before it arrives.
 */
import { aliasTarget, type DocumentedAlias } from "./openapi/declarations";

export type StreamRequestTest = (method: string | undefined, url: string | undefined) => boolean;

export function streamAliasMatcher(
	aliases: Readonly<Record<string, string | DocumentedAlias>>,
): StreamRequestTest {
	const patterns = Object.entries(aliases)
		.filter(([, alias]) => aliasTarget(alias).startsWith("stream:"))
		.map(([route]) => {
			const [method, path] = route.split(" ");
			const pattern = path
				.split("/")
				.map(part =>
					part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
				)
				.join("/");
			return { method: method.toUpperCase(), regex: new RegExp(`/${pattern}/?$`) };
		});
	return (method, url) => {
		if (method === undefined || url === undefined) return false;
		const path = url.split("?")[0];
		return patterns.some(p => p.method === method.toUpperCase() && p.regex.test(path));
	};
}
