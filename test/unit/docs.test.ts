/**
 * The documentation inside the repository: the README stays a short front page, every relative
 * link in it and in docs/ leads to a file (and heading) that exists, and no source file cites a
 * document the repository does not hold.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

/** Files under `dir` (relative to the root), skipping dependencies and build output. */
function filesUnder(dir: string): string[] {
	const full = path.join(ROOT, dir);
	if (!fs.existsSync(full)) return [];
	if (fs.statSync(full).isFile()) return [dir];
	return fs
		.readdirSync(full, { withFileTypes: true })
		.filter(entry => !["node_modules", "dist", ".git"].includes(entry.name))
		.flatMap(entry => filesUnder(path.join(dir, entry.name)));
}

const DOCS = ["README.md", ...filesUnder("docs").filter(file => file.endsWith(".md"))];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
	return heading
		.trim()
		.toLowerCase()
		.replace(/[^\p{L}\p{N}\s_-]/gu, "")
		.replace(/\s/g, "-");
}

function anchorsIn(file: string): Set<string> {
	const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/^```[\s\S]*?^```/gm, "");
	return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map(m => anchorOf(m[1])));
}

describe("documentation", () => {
	it("keeps the README under 25 KB", () => {
		expect(fs.statSync(path.join(ROOT, "README.md")).size).toBeLessThan(25 * 1024);
	});

	it("has the documents the README links to", () => {
		for (const doc of [
			"architecture",
			"http-api",
			"configuration",
			"training",
			"deployments",
			"operations",
		])
			expect(DOCS).toContain(path.join("docs", `${doc}.md`));
	});

	it("links only to files and headings that exist", () => {
		const broken: string[] = [];
		for (const file of DOCS) {
			const text = fs
				.readFileSync(path.join(ROOT, file), "utf8")
				.replace(/^```[\s\S]*?^```/gm, "");
			for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
				if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
				const [link, anchor] = target.split("#");
				const linked = link === "" ? file : path.join(path.dirname(file), link);
				if (!fs.existsSync(path.join(ROOT, linked))) {
					broken.push(`${file}: ${target} (no file ${linked})`);
				} else if (anchor !== undefined && linked.endsWith(".md")) {
					if (!anchorsIn(linked).has(anchor))
						broken.push(`${file}: ${target} (no heading #${anchor} in ${linked})`);
				}
			}
		}
		expect(broken).toEqual([]);
	});

	it("cites no document the repository does not hold", () => {
		const missing = ["STYLE", "DESIGN", "TOOLCHAIN"].map(name => `${name}.md`);
		const sources = [
			"lib",
			"services",
			"nodes",
			"mixins",
			"test",
			"bench",
			"scripts",
			"docker",
			"moleculer.config.ts",
			"eslint.config.mjs",
		].flatMap(filesUnder);
		expect(sources.length).toBeGreaterThan(100);
		const citing: string[] = [];
		for (const file of sources) {
			const full = path.join(ROOT, file);
			if (fs.statSync(full).size > 1024 ** 2) continue;
			const text = fs.readFileSync(full, "utf8");
			for (const name of missing) if (text.includes(name)) citing.push(`${file}: ${name}`);
			// Documents outside the repository (a sibling folder) are no part of it.
			if (/\.\.\/shared\/|\bshared\/specs\b/.test(text)) citing.push(`${file}: shared/`);
		}
		expect(citing).toEqual([]);
	});
});
