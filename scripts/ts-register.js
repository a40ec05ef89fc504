"use strict";
// Lets Node run the project's TypeScript sources directly (npm start, the cluster tests,
// piscina workers): `node --require ./scripts/ts-register.js nodes/cli.ts`.
// swc strips types only; `npm run typecheck` is where types are checked.
// Transpiled output is cached on disk by content hash, so a second start pays nothing.
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const Module = require("node:module");

const cacheDir = path.join(__dirname, "..", "node_modules", ".cache", "modelfleet-ts");
let swc;

function transpile(source, filename) {
	const key = crypto
		.createHash("sha256")
		.update(filename)
		.update("\0")
		.update(source)
		.digest("hex");
	const cached = path.join(cacheDir, key + ".js");
	try {
		return fs.readFileSync(cached, "utf8");
	} catch {
		// not cached yet
	}
	swc ??= require("@swc/core");
	const { code } = swc.transformSync(source, {
		filename,
		sourceMaps: "inline",
		jsc: { parser: { syntax: "typescript" }, target: "es2023" },
		module: { type: "commonjs" },
	});
	try {
		fs.mkdirSync(cacheDir, { recursive: true });
		const tmp = cached + "." + process.pid + ".tmp";
		fs.writeFileSync(tmp, code);
		fs.renameSync(tmp, cached);
	} catch {
		// a read-only tree still runs, only slower
	}
	return code;
}

Module._extensions[".ts"] = function loadTypeScript(module, filename) {
	module._compile(transpile(fs.readFileSync(filename, "utf8"), filename), filename);
};
