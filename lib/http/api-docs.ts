/**
 * The Swagger UI page at `/docs`, served offline from the `swagger-ui-dist` package (no CDN)
 * and under a strict Content-Security-Policy: scripts only from this origin, none inline (the
 * UI's configuration is a script file of its own), nothing framed, nothing sent elsewhere.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { NotFoundError } from "../errors";

/** Where the page is served; its files are under it. */
export const API_DOCS_PATH = "/docs";

/** The page's policy: same-origin scripts, styles and the document it loads; data: images. */
export const API_DOCS_CSP = [
	"default-src 'none'",
	"script-src 'self'",
	// Swagger UI (React) sets style attributes; no script runs from them.
	"style-src 'self' 'unsafe-inline'",
	"img-src 'self' data:",
	"font-src 'self' data:",
	"connect-src 'self'",
	"base-uri 'none'",
	"form-action 'none'",
	"frame-ancestors 'none'",
].join("; ");

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>modelfleet API</title>
<link rel="stylesheet" type="text/css" href="${API_DOCS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="${API_DOCS_PATH}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${API_DOCS_PATH}/swagger-ui-bundle.js" charset="UTF-8"></script>
<script src="${API_DOCS_PATH}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
<script src="${API_DOCS_PATH}/modelfleet-docs.js" charset="UTF-8"></script>
</body>
</html>
`;

/** The UI's configuration: this gateway's document, no validator badge (it would call out). */
const INITIALIZER = `window.addEventListener("load", function () {
	window.ui = SwaggerUIBundle({
		url: "/api/openapi.json",
		dom_id: "#swagger-ui",
		deepLinking: true,
		validatorUrl: null,
		presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
		layout: "StandaloneLayout",
	});
});
`;

/** The files of `swagger-ui-dist` the page loads, and their media types. */
const DIST_FILES: Readonly<Record<string, string>> = {
	"swagger-ui.css": "text/css; charset=utf-8",
	"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
	"favicon-32x32.png": "image/png",
	"favicon-16x16.png": "image/png",
};

export interface ApiDocsFile {
	body: Buffer | string;
	type: string;
}

/** The page and its files, read once from the installed package (or `distDir`, for tests). */
export class ApiDocs {
	private readonly cache = new Map<string, ApiDocsFile>();

	constructor(
		private readonly distDir: string = path.dirname(
			require.resolve("swagger-ui-dist/package.json"),
		),
	) {}

	page(): ApiDocsFile {
		return { body: PAGE, type: "text/html; charset=utf-8" };
	}

	/** A file of the page by name; anything else is 404 (no path reaches outside the list). */
	file(name: string): ApiDocsFile {
		if (name === "modelfleet-docs.js")
			return { body: INITIALIZER, type: "text/javascript; charset=utf-8" };
		const type = Object.hasOwn(DIST_FILES, name) ? DIST_FILES[name] : undefined;
		if (type === undefined) throw new NotFoundError("file", `${API_DOCS_PATH}/${name}`);
		let file = this.cache.get(name);
		if (file === undefined) {
			file = { body: fs.readFileSync(path.join(this.distDir, name)), type };
			this.cache.set(name, file);
		}
		return file;
	}
}
