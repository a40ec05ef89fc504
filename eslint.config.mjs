// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
	{ ignores: ["node_modules/", "dist/", "data/", "coverage/", "test/fixtures/"] },
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		files: ["**/*.ts"],
		rules: {
			"@typescript-eslint/no-explicit-any": "error",
			"@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
			"no-console": "off",
		},
	},
	{
		// lib/ is domain code: it never reaches into services/ or nodes/ (docs/architecture.md).
		files: ["lib/**/*.ts"],
		rules: {
			"no-restricted-imports": [
				"error",
				{
					patterns: [
						{
							group: ["**/services/*", "**/nodes/*", "**/mixins/*"],
							message: "lib/ must not import services/, nodes/ or mixins/",
						},
					],
				},
			],
		},
	},
	{
		files: ["**/*.js", "**/*.cjs"],
		languageOptions: {
			sourceType: "commonjs",
			globals: {
				require: "readonly",
				module: "writable",
				__dirname: "readonly",
				process: "readonly",
				console: "readonly",
			},
		},
		rules: { "@typescript-eslint/no-require-imports": "off" },
	},
);
