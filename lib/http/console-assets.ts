/**
 * The web console's files as the gateway serves them: read from `dist/console/` (what
 * `npm run build` wrote), or bundled in memory on first use where that folder is missing (a
 * node started from source with `npm start`). Each file carries its ETag and a gzip copy made
 * once; `consoleAnswer` decides what a request gets (304 for a matching `If-None-Match`, gzip
 * where accepted, immutable caching for hashed assets and revalidation for the page).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { NotFoundError } from "../errors";
import {
	CONSOLE_ASSETS_PATH,
	CONSOLE_DIST_DIR,
	bundleConsole,
	consoleMediaType,
	etagOf,
	type ConsoleBundle,
	type ConsoleFile,
} from "./console-bundle";

/** The console's policy: its own scripts and styles, calls to this origin, nothing framed. */
export const CONSOLE_CSP = [
	"default-src 'none'",
	"script-src 'self'",
	// uPlot and Preact set element styles; no script runs from them.
	"style-src 'self' 'unsafe-inline'",
	"img-src 'self' data: blob:",
	"connect-src 'self'",
	"base-uri 'none'",
	"form-action 'none'",
	"frame-ancestors 'none'",
].join("; ");

export interface ServedFile extends ConsoleFile {
	etag: string;
	gzip: Buffer;
	/** A hashed name: its bytes never change, so caches keep it for a year. */
	immutable: boolean;
}

export interface ConsoleAnswer {
	status: 200 | 304;
	headers: Record<string, string>;
	body: Buffer | null;
}

function served(file: ConsoleFile, immutable: boolean): ServedFile {
	return { ...file, etag: etagOf(file.body), gzip: gzipSync(file.body, { level: 9 }), immutable };
}

/** Whether `If-None-Match` names this ETag (or `*`). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
	if (ifNoneMatch === undefined) return false;
	return ifNoneMatch
		.split(",")
		.map(tag => tag.trim().replace(/^W\//, ""))
		.some(tag => tag === etag || tag === "*");
}

function acceptsGzip(acceptEncoding: string | undefined): boolean {
	return (acceptEncoding ?? "")
		.toLowerCase()
		.split(",")
		.some(part => {
			const [coding, ...params] = part.trim().split(";");
			const q = params.map(p => p.trim()).find(p => p.startsWith("q="));
			return coding.trim() === "gzip" && (q === undefined || Number(q.slice(2)) > 0);
		});
}

/** What a request for `file` gets, by its `If-None-Match` and `Accept-Encoding`. */
export function consoleAnswer(
	file: ServedFile,
	request: { ifNoneMatch?: string; acceptEncoding?: string },
): ConsoleAnswer {
	const headers: Record<string, string> = {
		ETag: file.etag,
		"Cache-Control": file.immutable ? "public, max-age=31536000, immutable" : "no-cache",
		Vary: "Accept-Encoding",
		"Content-Security-Policy": CONSOLE_CSP,
		"X-Content-Type-Options": "nosniff",
	};
	if (matches(request.ifNoneMatch, file.etag)) return { status: 304, headers, body: null };
	if (acceptsGzip(request.acceptEncoding) && file.gzip.length < file.body.length)
		return {
			status: 200,
			headers: { ...headers, "Content-Encoding": "gzip" },
			body: file.gzip,
		};
	return { status: 200, headers, body: file.body };
}

/** Reads a built console from `dir`, or null where it has no page. */
export function readBuiltConsole(dir: string): ConsoleBundle | null {
	const index = path.join(dir, "index.html");
	if (!fs.existsSync(index)) return null;
	const assets = fs
		.readdirSync(dir)
		.filter(name => name !== "index.html")
		.map(name => ({
			name,
			body: fs.readFileSync(path.join(dir, name)),
			type: consoleMediaType(name),
		}));
	return {
		page: { name: "index.html", body: fs.readFileSync(index), type: consoleMediaType(index) },
		assets,
	};
}

/** The console's files, loaded once (built, else bundled) and kept in memory. */
export class ConsoleAssets {
	private loading: Promise<Map<string, ServedFile>> | null = null;

	constructor(
		private readonly load: () => Promise<ConsoleBundle> = async () =>
			readBuiltConsole(CONSOLE_DIST_DIR) ?? bundleConsole(),
	) {}

	private files(): Promise<Map<string, ServedFile>> {
		this.loading ??= this.load().then(
			bundle =>
				new Map([
					["", served(bundle.page, false)],
					...bundle.assets.map(file => [file.name, served(file, true)] as const),
				]),
			err => {
				// The next request tries again (a source file being edited, say).
				this.loading = null;
				throw err;
			},
		);
		return this.loading;
	}

	page(): Promise<ServedFile> {
		return this.files().then(files => files.get("")!);
	}

	/** An asset by its (hashed) name; anything else is 404. */
	async asset(name: string): Promise<ServedFile> {
		const file = name === "" ? undefined : (await this.files()).get(name);
		if (file === undefined) throw new NotFoundError("file", `${CONSOLE_ASSETS_PATH}/${name}`);
		return file;
	}
}
