import * as fs from "node:fs";
import * as path from "node:path";

/** modelfleet's own version, from the package.json above this file (sources or dist/). */
export const MODELFLEET_VERSION: string = (() => {
	for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
		const file = path.join(dir, "package.json");
		if (fs.existsSync(file)) {
			const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as {
				name?: string;
				version?: string;
			};
			if (pkg.name === "modelfleet" && pkg.version) return pkg.version;
		}
	}
	return "unknown";
})();
