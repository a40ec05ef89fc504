/**
 * Where the CLI keeps the gateway URL and API key between runs: `config.json` under
 * $XDG_CONFIG_HOME/modelfleet (or ~/.config/modelfleet), readable by its owner only (0600, in
 * a 0700 folder) because it holds a key. MODELFLEET_URL and MODELFLEET_API_KEY override it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ClientConfig {
	url?: string;
	apiKey?: string;
}

/** The config file's path for `env` (XDG_CONFIG_HOME, else HOME/.config). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
	const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), ".config");
	return path.join(base, "modelfleet", "config.json");
}

/** The stored config; empty when there is none yet. A file that is not JSON throws, naming it. */
export function readConfig(file: string): ClientConfig {
	let text: string;
	try {
		text = fs.readFileSync(file, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
		throw err;
	}
	try {
		const parsed = JSON.parse(text) as ClientConfig;
		return {
			...(typeof parsed.url === "string" ? { url: parsed.url } : {}),
			...(typeof parsed.apiKey === "string" ? { apiKey: parsed.apiKey } : {}),
		};
	} catch {
		throw new Error(`${file} is not JSON: fix it or run "modelfleet login" again`);
	}
}

/** Writes `config` readable by its owner only; an existing file is narrowed to 0600 too. */
export function writeConfig(file: string, config: ClientConfig): void {
	fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
	const tmp = `${file}.${process.pid}.tmp`;
	fs.writeFileSync(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
	fs.chmodSync(tmp, 0o600);
	fs.renameSync(tmp, file);
}

/** The URL and key to use: the environment's over the stored ones. */
export function resolveConfig(file: string, env: NodeJS.ProcessEnv = process.env): ClientConfig {
	const stored = readConfig(file);
	return {
		url: env.MODELFLEET_URL || stored.url,
		apiKey: env.MODELFLEET_API_KEY || stored.apiKey,
	};
}
