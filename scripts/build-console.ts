/**
 * `npm run build`'s second step: bundles the web console (console/, docs/console.md) into
 * dist/console/ — index.html and its content-hashed script and style sheet — and prints the
 * bundle's gzipped size. The gateway serves that folder; without it, it bundles in memory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { bundleConsole, CONSOLE_DIST_DIR } from "../lib/http/console-bundle";

async function main(): Promise<void> {
	const bundle = await bundleConsole();
	fs.rmSync(CONSOLE_DIST_DIR, { recursive: true, force: true });
	fs.mkdirSync(CONSOLE_DIST_DIR, { recursive: true });
	for (const file of [bundle.page, ...bundle.assets])
		fs.writeFileSync(path.join(CONSOLE_DIST_DIR, file.name), file.body);
	const gzipped = [bundle.page, ...bundle.assets].reduce(
		(sum, file) => sum + gzipSync(file.body, { level: 9 }).length,
		0,
	);
	console.log(
		`console: ${bundle.assets.map(f => f.name).join(", ")} → ${path.relative(process.cwd(), CONSOLE_DIST_DIR)} (${(gzipped / 1024).toFixed(1)} KiB gzipped)`,
	);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
