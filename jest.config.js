/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: "<rootDir>/test/support/node-environment.js",
	transform: {
		"^.+\\.ts$": [
			"@swc/jest",
			{
				jsc: { parser: { syntax: "typescript" }, target: "es2023" },
				module: { type: "commonjs" },
			},
		],
	},
	testMatch: ["<rootDir>/test/**/*.test.ts"],
	moduleFileExtensions: ["ts", "js", "json"],
	setupFiles: ["<rootDir>/test/support/setup.ts"],
	globalSetup: "<rootDir>/test/support/global-setup.ts",
	testTimeout: 30_000,
	// Cluster tests start real processes; two cores do not run many of them at once well.
	maxWorkers: 2,
};
