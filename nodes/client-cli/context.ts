/** What every client command needs: a client from the stored config or the environment, output, errors. */
import { ModelfleetClient, configPath, resolveConfig } from "../../lib/client";
import { MODELFLEET_VERSION } from "../../lib/version";
import { stdoutOutput, type Output } from "./output";

/** A mistake in how the command was called: exit code 2 (API and client errors exit 1). */
export class UsageError extends Error {}

export interface CliContext {
	env: NodeJS.ProcessEnv;
	/** A client for the configured gateway; throws naming what to set when nothing is. */
	client(): ModelfleetClient;
	output(options: { json?: boolean }): Output;
}

export function cliContext(env: NodeJS.ProcessEnv): CliContext {
	return {
		env,
		client() {
			const file = configPath(env);
			const { url, apiKey } = resolveConfig(file, env);
			if (!url || !apiKey)
				throw new Error(
					`no ${url ? "API key" : "gateway URL"}: run "modelfleet login" or set ` +
						`${url ? "MODELFLEET_API_KEY" : "MODELFLEET_URL"}`,
				);
			return new ModelfleetClient({
				url,
				apiKey,
				userAgent: `modelfleet-cli/${MODELFLEET_VERSION}`,
			});
		},
		output: ({ json }) => stdoutOutput(Boolean(json)),
	};
}

/** `items` of a page, or the list itself when a route answers a bare array. */
export function itemsOf<T>(answer: T[] | { items: T[] }): T[] {
	return Array.isArray(answer) ? answer : answer.items;
}

/** A positive integer option, else a UsageError naming it. */
export function positiveInt(name: string): (value: string) => number {
	return value => {
		const n = Number(value);
		if (!Number.isInteger(n) || n < 0)
			throw new UsageError(`${name} must be a whole number, not "${value}"`);
		return n;
	};
}
