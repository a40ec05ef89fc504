/**
 * `modelfleet <command>` for people and scripts: the client commands beside the node roles.
 * Exit codes: 0 done, 1 the API or the client refused (one line on stderr), 2 a usage error.
 */
import * as readline from "node:readline/promises";
import { Command, CommanderError } from "commander";
import {
	ModelfleetApiError,
	ModelfleetClient,
	configPath,
	readConfig,
	writeConfig,
} from "../../lib/client";
import { MODELFLEET_VERSION } from "../../lib/version";
import { UsageError, cliContext, type CliContext } from "./context";
import { registerDatasets, registerModels } from "./models";
import { registerDeployments, registerFleet, registerPredict, registerTraining } from "./operate";
import { emit } from "./output";

async function ask(question: string): Promise<string> {
	const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
	try {
		return (await rl.question(question)).trim();
	} finally {
		rl.close();
	}
}

function registerLogin(program: Command, ctx: CliContext): void {
	program
		.command("login")
		.description(
			"check a gateway URL and API key, and store them for the next commands (mode 0600)",
		)
		.option(
			"--url <url>",
			"the gateway, e.g. http://localhost:3000 (default: MODELFLEET_URL or the stored one)",
		)
		.option(
			"--api-key <key>",
			"the API key (default: MODELFLEET_API_KEY, else asked for on a terminal)",
		)
		.option("--json", "print JSON only")
		.action(async (options: { url?: string; apiKey?: string; json?: boolean }) => {
			const file = configPath(ctx.env);
			const stored = readConfig(file);
			const interactive = Boolean(process.stdin.isTTY);
			const url =
				options.url ??
				ctx.env.MODELFLEET_URL ??
				stored.url ??
				(interactive ? await ask("Gateway URL: ") : undefined);
			const apiKey =
				options.apiKey ??
				ctx.env.MODELFLEET_API_KEY ??
				(interactive ? await ask("API key: ") : undefined);
			if (!url || !apiKey)
				throw new UsageError(
					"give --url and --api-key (or set MODELFLEET_URL and MODELFLEET_API_KEY)",
				);
			const tenant = await new ModelfleetClient({ url, apiKey }).getTenant();
			writeConfig(file, { url, apiKey });
			emit(
				ctx.output(options),
				{ url, config: file, tenant },
				() =>
					`logged in to ${url} as tenant ${String(tenant.name ?? tenant.id)}; saved in ${file}`,
			);
		});
}

/** The program with every client command; exits are thrown as CommanderError, not taken. */
export function buildProgram(ctx: CliContext): Command {
	const program = new Command("modelfleet")
		.description("modelfleet's command-line client (node roles: modelfleet help)")
		.version(MODELFLEET_VERSION, "-V, --version")
		// Program options only before the command: `push --version 1.0.0` is the version to
		// push, not a request for modelfleet's own version.
		.enablePositionalOptions()
		.exitOverride()
		.showHelpAfterError("(add --help for usage)")
		.configureOutput({
			writeOut: text => process.stdout.write(text),
			writeErr: text => process.stderr.write(text),
		});
	registerLogin(program, ctx);
	registerModels(program, ctx);
	registerDatasets(program, ctx);
	registerTraining(program, ctx);
	registerDeployments(program, ctx);
	registerPredict(program, ctx);
	registerFleet(program, ctx);
	return program;
}

/**
 * One line for stderr saying what went wrong; for an upload that may have made its version
 * all the same, how to run it again without making a second.
 */
export function errorLine(err: unknown): string {
	if (err instanceof ModelfleetApiError) {
		const line = `error: ${err.message.replace(/\s*\n\s*/g, " ")}${err.status ? ` (${err.type}, HTTP ${err.status})` : ` (${err.type})`}`;
		return err.idempotencyKey === undefined
			? line
			: `${line}; the version may have been made: run the same command with --idempotency-key ${err.idempotencyKey} to get it rather than a second one`;
	}
	return `error: ${(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ")}`;
}

/** Runs `argv` (without node and the script); resolves to the exit code. */
export async function runClientCli(
	argv: readonly string[],
	env: NodeJS.ProcessEnv,
): Promise<number> {
	const program = buildProgram(cliContext(env));
	try {
		await program.parseAsync([...argv], { from: "user" });
		return 0;
	} catch (err) {
		if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
		if (err instanceof UsageError) {
			process.stderr.write(`error: ${err.message}\n`);
			return 2;
		}
		process.stderr.write(errorLine(err) + "\n");
		return 1;
	}
}
