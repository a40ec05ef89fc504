import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..", "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/**
 * Every environment variable lib/config/ and lib/settings/ read: names passed to the EnvReader (`read.number(
 * "NAME"`, possibly on the next line), to a size setting (`sizeSetting("NAME"`), named as a
 * setting (`setting: "NAME"`), and any `MODELFLEET_…` name written out.
 */
function variablesRead(): Set<string> {
	const names = new Set<string>();
	const folders = ["config", "settings"].map(name => path.join(ROOT, "lib", name));
	const files = folders.flatMap(folder =>
		fs
			.readdirSync(folder)
			.filter(name => name.endsWith(".ts"))
			.map(name => path.join(folder, name)),
	);
	for (const file of files) {
		const source = fs.readFileSync(file, "utf8");
		const patterns = [
			/\bread\.\w+\(\s*"([A-Z][A-Z0-9_]+)"/g,
			/\b\w*[sS]etting\(\s*"([A-Z][A-Z0-9_]+)"/g,
			/\bsetting:\s*"([A-Z][A-Z0-9_]+)"/g,
			/"(MODELFLEET_[A-Z0-9_]+)"/g,
		];
		for (const pattern of patterns)
			for (const match of source.matchAll(pattern)) names.add(match[1]);
	}
	return names;
}

describe("docs/configuration.md", () => {
	it("documents every environment variable a node reads", () => {
		const variables = variablesRead();
		expect(variables.size).toBeGreaterThan(50);
		const doc = read("docs/configuration.md");
		const documented = new Set(
			[...doc.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map(m => m[1]),
		);
		expect([...variables].filter(name => !documented.has(name))).toEqual([]);
	});
});

describe("README", () => {
	it("gives the two commands and the test command CI runs", () => {
		const readme = read("README.md");
		expect(readme).toContain("npm ci && npm start");
		expect(readme).toContain("npm test");
		expect(read(".ci/run")).toMatch(/^npm test$/m);
	});
});
