/**
 * The console's bundle as `npm run build` makes it: one hashed script and style sheet, a page
 * with no inline script, and under the 300 KB gzipped (the actual size is printed).
 */
import { extname } from "node:path";
import { gzipSync } from "node:zlib";
import { bundleConsole, type ConsoleBundle } from "../../../lib/http/console-bundle";

const LIMIT_BYTES = 300 * 1024;

describe("bundleConsole", () => {
	let bundle: ConsoleBundle;
	beforeAll(async () => {
		bundle = await bundleConsole();
	}, 60_000);

	it("makes a page that loads its hashed script and style sheet, nothing inline", () => {
		// By extension: sorted by name, the hashes decide which comes first.
		const names = bundle.assets
			.map(file => file.name)
			.sort((a, b) => extname(a).localeCompare(extname(b)));
		expect(names).toEqual([
			expect.stringMatching(/^main-[A-Z0-9]{8}\.css$/),
			expect.stringMatching(/^main-[A-Z0-9]{8}\.js$/),
		]);
		const page = bundle.page.body.toString();
		for (const name of names) expect(page).toContain(`/console/${name}`);
		expect(page).not.toMatch(/<script>[^<]/);
		expect(page).not.toMatch(/<style/);
		expect(page).not.toMatch(/https?:\/\//);
	});

	it("stays under 300 KB gzipped", () => {
		const gzipped = [bundle.page, ...bundle.assets].reduce(
			(sum, file) => sum + gzipSync(file.body, { level: 9 }).length,
			0,
		);
		console.log(`console bundle: ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
		expect(gzipped).toBeLessThan(LIMIT_BYTES);
		expect(gzipped).toBeGreaterThan(10 * 1024);
	});

	it("bundles Preact and uPlot, and no Node module", () => {
		const script = bundle.assets.find(file => file.name.endsWith(".js"))!.body.toString();
		expect(script).toContain("uplot");
		expect(script).not.toMatch(/require\(["']node:/);
	});
});
