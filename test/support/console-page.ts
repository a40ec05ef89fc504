/**
 * Driving the web console (docs/console.md) in headless Chromium with puppeteer-core: launch,
 * sign in, open a screen, check it with axe-core and the keyboard, and take its screenshot for
 * docs/images/ (only with MODELFLEET_WRITE_SCREENSHOTS=1, so test runs do not rewrite checked-in
 * files).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, Page } from "puppeteer-core" with { "resolution-mode": "import" };

const AXE = require.resolve("axe-core/axe.min.js");
export const SCREENSHOT_DIR = path.join(__dirname, "..", "..", "docs", "images");

export type { Browser, Page };

/*
 * The functions below run in the page: they are written as source text because this project's
 * TypeScript has no DOM types (the console's own tsconfig has them).
 */

export async function launchChromium(executablePath: string): Promise<Browser> {
	// An ECMAScript module: imported, not required.
	const { default: puppeteer } = await import("puppeteer-core");
	return puppeteer.launch({
		executablePath,
		headless: true,
		// Tests run as root in containers, where Chromium's sandbox cannot start.
		args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
	});
}

/**
 * Chromium and a first tab, for the console of the gateway at `base`. The console is bundled on
 * its first request where dist/console is missing: that request is made here, so no test times it.
 */
export async function openConsole(
	chromium: string,
	base: string,
): Promise<{ browser: Browser; page: Page }> {
	expect((await fetch(`${base}/`)).status).toBe(200);
	const browser = await launchChromium(chromium);
	return { browser, page: await newTab(browser) };
}

/** A new tab (its own session storage: signed out) of 1280×800 CSS pixels. */
export async function newTab(browser: Browser): Promise<Page> {
	const page = await browser.newPage();
	await page.setViewport({ width: 1280, height: 800 });
	// axe is injected as a script of its own, which the console's policy would refuse.
	await page.setBypassCSP(true);
	page.setDefaultTimeout(30_000);
	return page;
}

export async function signIn(page: Page, base: string, key: string): Promise<void> {
	await page.goto(`${base}/`, { waitUntil: "domcontentloaded" });
	await page.waitForSelector("#api-key");
	await page.type("#api-key", key);
	await page.click("button[type=submit]");
	await page.waitForSelector("nav[aria-label=Screens]");
}

/** Opens `#/route` and waits for `ready` (a selector) to be on the screen. */
export async function visit(page: Page, route: string, ready: string): Promise<void> {
	await page.evaluate(`location.hash = ${JSON.stringify(`#/${route}`)}`);
	await page.waitForSelector(ready);
}

export interface AxeViolation {
	id: string;
	impact: string | null;
	help: string;
	nodes: Array<{ target: string[] }>;
}

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
	if (!(await page.evaluate(`"axe" in window`))) await page.addScriptTag({ path: AXE });
	const violations = (await page.evaluate(
		`axe.run(document, { resultTypes: ["violations"] }).then(r => r.violations)`,
	)) as AxeViolation[];
	return violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(
			v =>
				`${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(" ")).join(", ")}`,
		);
}

/** Buttons, links and fields a mouse could use that a keyboard could not reach. */
export async function keyboardUnreachable(page: Page): Promise<string[]> {
	return page.evaluate(`(() => {
		const problems = [];
		for (const el of document.querySelectorAll("[onclick], [role=button], button, a, input, select, summary, textarea")) {
			const name = el.tagName.toLowerCase() + ' "' + (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 30) + '"';
			if (el.tabIndex < 0 && !el.disabled) problems.push(name + " is out of the tab order");
			if (el.tagName === "A" && !el.hasAttribute("href")) problems.push(name + " is a link without href");
		}
		return problems;
	})()`) as Promise<string[]>;
}

/** Expects the screen `name` on `page` to pass axe and to keep its controls in the tab order. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
	expect({ name, violations: await seriousViolations(page) }).toEqual({
		name,
		violations: [],
	});
	expect({ name, unreachable: await keyboardUnreachable(page) }).toEqual({
		name,
		unreachable: [],
	});
}

/** Writes docs/images/console-<name>.png when MODELFLEET_WRITE_SCREENSHOTS=1. */
export async function screenshotFor(page: Page, name: string): Promise<void> {
	if (process.env.MODELFLEET_WRITE_SCREENSHOTS !== "1") return;
	fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
	await page.screenshot({
		path: path.join(SCREENSHOT_DIR, `console-${name}.png`) as `${string}.png`,
	});
}
