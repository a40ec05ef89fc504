/**
 * Headless Chromium for tests that look at a page as a browser renders it (the Swagger UI at
 * /docs, the console). Found as CHROMIUM_PATH or on PATH (Debian's `chromium`; .ci/run installs
 * it); a test block that needs it is skipped with a notice where it is missing. Driven through its
 * command line: `--dump-dom` prints the DOM once the page's scripts have run
 * (`--virtual-time-budget` lets its timers and requests finish), `--screenshot` writes a PNG.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { describeUnlessMissing } from "./external-services";

const NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** The browser's executable, or null where this machine has none. */
export function findChromium(env = process.env): string | null {
	if (env.CHROMIUM_PATH) return fs.existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : null;
	for (const dir of (env.PATH ?? "").split(path.delimiter))
		for (const name of NAMES) {
			const candidate = path.join(dir, name);
			if (fs.existsSync(candidate)) return candidate;
		}
	return null;
}

/**
 * `describe(name, body)`, the body given this machine's Chromium; where there is none, skipped
 * with a notice (a failed test under MODELFLEET_REQUIRE_SERVICES=1).
 */
export function describeWithChromium(name: string, body: (chromium: string) => void): void {
	const chromium = findChromium();
	if (chromium !== null) describe(name, () => body(chromium));
	else
		describeUnlessMissing(
			name,
			"Chromium not found (install Debian's `chromium`, or set CHROMIUM_PATH)",
			// Skipped: the body only declares its tests, none of which runs.
			() => body(""),
		);
}

const COMMON = [
	"--headless",
	// Tests run as root in containers, where Chromium's sandbox cannot start.
	"--no-sandbox",
	"--disable-gpu",
	"--disable-dev-shm-usage",
	"--no-first-run",
	"--hide-scrollbars",
];

const run = promisify(execFile);

/** The page's DOM after its scripts ran for up to `budgetMs` of virtual time. */
export async function renderedDom(
	chromium: string,
	url: string,
	budgetMs = 20_000,
): Promise<string> {
	const { stdout } = await run(
		chromium,
		[...COMMON, `--virtual-time-budget=${budgetMs}`, "--dump-dom", url],
		{ maxBuffer: 64 * 1024 ** 2, timeout: 90_000 },
	);
	return stdout;
}

/** A PNG of the page once rendered, `width`×`height` CSS pixels. */
export async function screenshot(
	chromium: string,
	url: string,
	file: string,
	size = { width: 1280, height: 1600 },
	budgetMs = 20_000,
): Promise<void> {
	await run(
		chromium,
		[
			...COMMON,
			`--virtual-time-budget=${budgetMs}`,
			`--window-size=${size.width},${size.height}`,
			`--screenshot=${file}`,
			url,
		],
		{ timeout: 90_000 },
	);
}
