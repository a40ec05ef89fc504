/**
 * The node's garbage-collection tuning (lib/process/gc-tuning.ts), measured in a child process
 * that holds a heap like a loaded node's and allocates request-sized buffers: with the tuning,
 * full collections stay rare; without it, V8 runs one every 64 MiB of buffers.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..", "..");

/** Full (major) collections while 1 GiB of 32 KiB buffers come and go over a 40 MiB heap. */
function majorCollections(tuned: boolean): number {
	const script = `
		const { applyGcTuning } = require(${JSON.stringify(path.join(ROOT, "lib", "process", "gc-tuning.ts"))});
		const { PerformanceObserver, constants } = require("node:perf_hooks");
		applyGcTuning(${tuned});
		const kept = [];
		for (let i = 0; i < 300000; i++) kept.push({ i, text: "row " + i });
		let major = 0;
		const observer = new PerformanceObserver(list => {
			for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
		});
		observer.observe({ entryTypes: ["gc"] });
		let sum = 0;
		for (let i = 0; i < 32768; i++) {
			const body = Buffer.allocUnsafe(32768);
			body[0] = i & 255;
			sum += body[0];
		}
		setTimeout(() => {
			observer.disconnect();
			process.stdout.write(JSON.stringify({ major, kept: kept.length, sum }));
		}, 50);
	`;
	const out = execFileSync(
		process.execPath,
		["--require", path.join(ROOT, "scripts", "ts-register.js"), "-e", script],
		{ cwd: ROOT, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } },
	);
	return (JSON.parse(out) as { major: number }).major;
}

describe("applyGcTuning", () => {
	it("keeps full collections rare while request-sized buffers churn", () => {
		expect(majorCollections(true)).toBeLessThanOrEqual(2);
	});

	it("without it, V8 collects the whole heap every 64 MiB of buffers (what the tuning is for)", () => {
		expect(majorCollections(false)).toBeGreaterThanOrEqual(6);
	});
});
