/**
 * Prometheus' own linter, `promtool check metrics` (Debian's `prometheus` package; .ci/run
 * installs it): the judge of whether a node's /metrics follows the exposition format and
 * naming conventions.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** promtool's path: PROMTOOL, else the first on PATH, else null. */
export function promtoolPath(env = process.env): string | null {
	if (env.PROMTOOL) return env.PROMTOOL;
	for (const dir of (env.PATH ?? "").split(path.delimiter)) {
		const candidate = path.join(dir, "promtool");
		if (dir !== "" && fs.existsSync(candidate)) return candidate;
	}
	return null;
}

/** Pipes a scrape into `promtool check metrics`: its exit code and what it said. */
export function promtoolCheck(promtool: string, text: string): { code: number; output: string } {
	const run = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
	return { code: run.status ?? -1, output: `${run.stdout}${run.stderr}`.trim() };
}

/** The sum of a family's samples whose labels include every `labels` pair. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
	let sum = 0;
	for (const line of text.split("\n")) {
		if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
		if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
		sum += Number(line.split(" ").at(-1));
	}
	return sum;
}
