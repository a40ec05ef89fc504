import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..", "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

describe("README", () => {
	it("documents every environment variable a node reads", () => {
		const source = read("lib/config/node-config.ts");
		const variables = new Set(
			[...source.matchAll(/read\.\w+\("([A-Z][A-Z0-9_]+)"/g)].map(m => m[1]),
		);
		expect(variables.size).toBeGreaterThan(15);
		const readme = read("README.md");
		const documented = new Set(
			[...readme.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map(m => m[1]),
		);
		expect([...variables].filter(name => !documented.has(name))).toEqual([]);
	});

	it("gives the two commands and the test command CI runs", () => {
		const readme = read("README.md");
		expect(readme).toContain("npm ci && npm start");
		expect(readme).toContain("npm test");
		expect(read(".ci/run")).toMatch(/^npm test$/m);
	});
});
