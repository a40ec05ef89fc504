/**
 * The web console's bundle (docs/console.md): its Preact sources under `console/` bundled by
 * esbuild into one script and one style sheet with content-hashed names, and the page that
 * loads them. `npm run build` writes it to `dist/console/` (scripts/build-console.ts); a gateway
 * started from source without that folder bundles it in memory instead (console-assets.ts).
 */
import { createHash } from "node:crypto";
import * as path from "node:path";

/** One file of the bundle: its name under the console's path, bytes and media type. */
export interface ConsoleFile {
	name: string;
	body: Buffer;
	type: string;
}

/** The page and its assets; `assets` have hashed names and never change under a name. */
export interface ConsoleBundle {
	page: ConsoleFile;
	assets: ConsoleFile[];
}

/** Where the bundle's assets are served (the page itself is `/`). */
export const CONSOLE_ASSETS_PATH = "/console";

/** The project's root: the folder above lib/ (from source) or above dist/ (compiled). */
export function projectRoot(): string {
	const up = path.resolve(__dirname, "..", "..");
	return path.basename(up) === "dist" ? path.dirname(up) : up;
}

export const CONSOLE_SOURCE_DIR = path.join(projectRoot(), "console");
export const CONSOLE_DIST_DIR = path.join(projectRoot(), "dist", "console");

const TYPES: Readonly<Record<string, string>> = {
	".js": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".html": "text/html; charset=utf-8",
	".json": "application/json",
	".svg": "image/svg+xml",
	".png": "image/png",
};

export function consoleMediaType(name: string): string {
	return TYPES[path.extname(name)] ?? "application/octet-stream";
}

/** The page: no inline script or style (the console's policy allows only its own files). */
export function consolePage(script: string, styles: string[]): string {
	const links = styles
		.map(name => `<link rel="stylesheet" href="${CONSOLE_ASSETS_PATH}/${name}">`)
		.join("\n");
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelfleet console</title>
<link rel="icon" href="data:,">
${links}
<script type="module" src="${CONSOLE_ASSETS_PATH}/${script}"></script>
</head>
<body>
<div id="app"></div>
</body>
</html>
`;
}

/** Bundles `console/src/main.tsx` (minified, hashed names) without writing anything. */
export async function bundleConsole(sourceDir = CONSOLE_SOURCE_DIR): Promise<ConsoleBundle> {
	// Loaded here, not at the top: a gateway with a built console never needs the bundler.
	const esbuild = await import("esbuild");
	const outdir = path.join(sourceDir, "out");
	// The bundler runs as a child process; it is stopped once the bundle is made.
	const result = await esbuild
		.build({
			entryPoints: [path.join(sourceDir, "src", "main.tsx")],
			bundle: true,
			write: false,
			minify: true,
			format: "esm",
			target: "es2022",
			jsx: "automatic",
			jsxImportSource: "preact",
			entryNames: "[name]-[hash]",
			assetNames: "[name]-[hash]",
			outdir,
			logLevel: "silent",
			legalComments: "none",
		})
		.finally(() => esbuild.stop());
	const assets = result.outputFiles.map(file => {
		const name = path.relative(outdir, file.path).split(path.sep).join("/");
		return { name, body: Buffer.from(file.contents), type: consoleMediaType(name) };
	});
	const script = assets.find(file => file.name.endsWith(".js"));
	if (script === undefined) throw new Error("The console's bundle has no script");
	const styles = assets.filter(file => file.name.endsWith(".css")).map(file => file.name);
	const page = consolePage(script.name, styles);
	return {
		page: { name: "index.html", body: Buffer.from(page), type: TYPES[".html"] },
		assets,
	};
}

/** A strong validator for a file's bytes. */
export function etagOf(body: Buffer): string {
	return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}
