/**
 * Reads a `fleet …` line as the operator typed it into a command: words split like a shell
 * does ('…' and "…" quote, \ escapes), options as `--name value` or `--name=value`, and for
 * `fleet predict` the rest of the line as the JSON request, quoted or not.
 */
import { parseByteSize } from "../settings/env-reader";
import { InvalidInputError } from "../errors";

export type FleetCommand =
	| { kind: "help" }
	| { kind: "login"; key: string }
	| { kind: "whoami" }
	| { kind: "nodes" }
	/** Every node drops a lost node from its list now (owners of an admin tenant). */
	| { kind: "forget"; node: string }
	| { kind: "placements" }
	| { kind: "models"; tenant?: string }
	| {
			kind: "deploy";
			/** `name`, `name@version` or `name@alias`, as the scheduler takes it. */
			model: string;
			replicas?: number;
			gpu: boolean;
			memoryBytes?: number;
			tenant?: string;
	  }
	| { kind: "scale"; model: string; replicas: number; tenant?: string }
	| { kind: "undeploy"; model: string; tenant?: string }
	| { kind: "predict"; model: string; request: Record<string, unknown>; tenant?: string }
	| { kind: "jobs"; tenant?: string }
	/** Hyperparameter studies: trials, epochs, best trial (docs/studies.md). */
	| { kind: "studies"; tenant?: string }
	/** Queues an optimization job of `model@version` (docs/optimization.md). */
	| {
			kind: "optimize";
			model: string;
			version: string;
			recipe: string;
			params?: Record<string, unknown>;
			/** Evaluate on this dataset (name, name@N, id or sha256), as the REST body's `dataset`. */
			dataset?: string;
			/** With `dataset`: the label column (the REST body's `labelColumn`). */
			labelColumn?: string;
			/** With `dataset`: the columns of the model's first input, in its order. */
			features?: string[];
			tenant?: string;
	  }
	/** The optimizations made from `model@version`, compared. */
	| { kind: "optimizations"; model: string; version: string; tenant?: string }
	/** Each deployment's health score and its parts (docs/monitoring.md). */
	| { kind: "health"; tenant?: string };

/** One line per command, shown by `fleet help` and in usage errors. */
export const FLEET_USAGE = {
	login: "fleet login <api-key>",
	whoami: "fleet whoami",
	nodes: "fleet nodes",
	forget: "fleet forget <node>",
	models: "fleet models [--tenant t]",
	deploy: "fleet deploy <model>[@version] [--replicas n] [--gpu] [--memory bytes|1GiB] [--tenant t]",
	scale: "fleet scale <model> <replicas> [--tenant t]",
	undeploy: "fleet undeploy <model> [--tenant t]",
	placements: "fleet placements",
	predict: "fleet predict <model>[@version] [--tenant t] <json>",
	jobs: "fleet jobs [--tenant t]",
	studies: "fleet studies [--tenant t]",
	optimize:
		"fleet optimize <model>@<version> <recipe> [--params json] [--dataset d] [--label-column c] [--features a,b,…] [--tenant t]",
	optimizations: "fleet optimizations <model>@<version> [--tenant t]",
	health: "fleet health [--tenant t]",
} as const;

type CommandName = keyof typeof FLEET_USAGE;

export interface Token {
	text: string;
	/** Where the word starts in the line, quotes included. */
	start: number;
	/** Where it ends (exclusive). */
	end: number;
	/** Whether any part of it was quoted or escaped (a quoted "--x" is not an option). */
	quoted: boolean;
}

/** The next word at or after `from`, or null at the end of the line. */
export function nextToken(line: string, from: number): Token | null {
	let i = from;
	while (i < line.length && /\s/.test(line[i])) i++;
	if (i >= line.length) return null;
	const start = i;
	let text = "";
	let quoted = false;
	while (i < line.length && !/\s/.test(line[i])) {
		const c = line[i];
		if (c === "'") {
			const close = line.indexOf("'", i + 1);
			if (close < 0) throw unclosed("'", start);
			text += line.slice(i + 1, close);
			quoted = true;
			i = close + 1;
		} else if (c === '"') {
			i++;
			for (;;) {
				if (i >= line.length) throw unclosed('"', start);
				const d = line[i];
				if (d === '"') break;
				if (d === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) {
					text += line[i + 1];
					i += 2;
				} else {
					text += d;
					i++;
				}
			}
			quoted = true;
			i++;
		} else if (c === "\\" && i + 1 < line.length) {
			text += line[i + 1];
			quoted = true;
			i += 2;
		} else {
			text += c;
			i++;
		}
	}
	return { text, start, end: i, quoted };
}

/** Every word of the line. */
export function tokenize(line: string): Token[] {
	const tokens: Token[] = [];
	for (let t = nextToken(line, 0); t !== null; t = nextToken(line, t.end)) tokens.push(t);
	return tokens;
}

function unclosed(quote: string, at: number): InvalidInputError {
	return new InvalidInputError(
		`The quote ${quote} opened at column ${at + 1} is never closed; close it or leave it out.`,
	);
}

/** What options a command takes: those with a value, and flags. */
interface OptionSpec {
	values: readonly string[];
	flags: readonly string[];
}

interface ParsedArgs {
	operands: string[];
	values: Map<string, string>;
	flags: Set<string>;
}

function isOption(token: Token): boolean {
	return !token.quoted && token.text.startsWith("--") && token.text.length > 2;
}

function parseArgs(command: CommandName, tokens: readonly Token[], spec: OptionSpec): ParsedArgs {
	const parsed: ParsedArgs = { operands: [], values: new Map(), flags: new Set() };
	for (let i = 0; i < tokens.length; i++) {
		const token = tokens[i];
		if (!isOption(token)) {
			parsed.operands.push(token.text);
			continue;
		}
		const eq = token.text.indexOf("=");
		const name = token.text.slice(2, eq < 0 ? undefined : eq);
		if (spec.flags.includes(name)) {
			if (eq >= 0) throw usageError(command, `--${name} takes no value`);
			parsed.flags.add(name);
		} else if (spec.values.includes(name)) {
			let value: string | undefined;
			if (eq >= 0) value = token.text.slice(eq + 1);
			else if (i + 1 < tokens.length && !isOption(tokens[i + 1])) value = tokens[++i].text;
			if (value === undefined || value === "") {
				throw usageError(command, `--${name} needs a value`);
			}
			parsed.values.set(name, value);
		} else {
			throw usageError(command, `unknown option --${name}`);
		}
	}
	return parsed;
}

function usageError(command: CommandName, problem: string): InvalidInputError {
	return new InvalidInputError(`${problem}; usage: ${FLEET_USAGE[command]}`, {
		command: `fleet ${command}`,
	});
}

function expectOperands(command: CommandName, args: ParsedArgs, names: readonly string[]): void {
	if (args.operands.length < names.length) {
		throw usageError(command, `missing ${names.slice(args.operands.length).join(" and ")}`);
	}
	if (args.operands.length > names.length) {
		throw usageError(command, `unexpected '${args.operands[names.length]}'`);
	}
}

/** A replica count as the operator wrote it: a whole number, 0 or more. */
export function parseReplicaCount(text: string, what: string): number {
	if (!/^\d+$/.test(text)) {
		throw new InvalidInputError(`${what} must be a whole number (0 or more), not '${text}'.`);
	}
	return Number(text);
}

/** Bytes as a number or with a unit (`1GiB`, `512MB`). */
export function parseMemory(text: string): number {
	const bytes = parseByteSize(text);
	if (bytes === null || bytes <= 0) {
		throw new InvalidInputError(
			`--memory must be a size such as 1073741824 or 1GiB, not '${text}'.`,
		);
	}
	return bytes;
}

/**
 * A prediction request typed at the prompt: JSON, or a JavaScript-style object with bare
 * keys (`{instances: [[1, 2]]}`), which is what people type; it must hold `inputs` or
 * `instances`.
 */
export function parsePredictRequest(text: string): Record<string, unknown> {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (err) {
		try {
			value = JSON.parse(quoteBareKeys(text));
		} catch {
			throw new InvalidInputError(
				`The request is not valid JSON (${(err as Error).message}); give an object such as {"instances": [[1, 2, 3, 4]]}.`,
			);
		}
	}
	if (value === null || typeof value !== "object" || Array.isArray(value)) {
		throw new InvalidInputError(
			'The request must be a JSON object with "inputs" (Open Inference Protocol) or "instances".',
		);
	}
	const request = value as Record<string, unknown>;
	if (!("inputs" in request) && !("instances" in request)) {
		throw new InvalidInputError(
			'The request has neither "inputs" (Open Inference Protocol tensors) nor "instances" (rows).',
		);
	}
	return request;
}

/** `{a: 1, b_c: [2]}` → `{"a": 1, "b_c": [2]}`; text inside strings is left alone. */
function quoteBareKeys(text: string): string {
	let out = "";
	for (let i = 0; i < text.length;) {
		const c = text[i];
		if (c === '"') {
			let j = i + 1;
			while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
			out += text.slice(i, j + 1);
			i = j + 1;
			continue;
		}
		const key = /^([{,]\s*)([A-Za-z_$][A-Za-z0-9_$]*)(\s*:)/.exec(text.slice(i));
		if (key) {
			out += `${key[1]}"${key[2]}"${key[3]}`;
			i += key[0].length;
			continue;
		}
		out += c;
		i++;
	}
	return out;
}

const TENANT: OptionSpec = { values: ["tenant"], flags: [] };
const NONE: OptionSpec = { values: [], flags: [] };

/**
 * Reads a `fleet …` line (the leading `fleet` may be left out).
 * Long because it is one switch over the commands, each case a few lines.
 */
export function parseFleetCommand(line: string): FleetCommand {
	let tokens = tokenize(line);
	if (tokens[0]?.text === "fleet" && !tokens[0].quoted) tokens = tokens.slice(1);
	const [first, ...rest] = tokens;
	if (first === undefined || first.text === "help" || first.text === "--help") {
		return { kind: "help" };
	}
	const name = first.text;
	if (!Object.hasOwn(FLEET_USAGE, name)) {
		throw new InvalidInputError(
			`Unknown command 'fleet ${name}'; the commands are: ${Object.keys(FLEET_USAGE).join(", ")} (fleet help shows their usage).`,
		);
	}
	const command = name as CommandName;
	switch (command) {
		case "login": {
			const args = parseArgs(command, rest, NONE);
			expectOperands(command, args, ["<api-key>"]);
			return { kind: "login", key: args.operands[0] };
		}
		case "whoami":
		case "nodes":
		case "placements": {
			expectOperands(command, parseArgs(command, rest, NONE), []);
			return { kind: command };
		}
		case "forget": {
			const args = parseArgs(command, rest, NONE);
			expectOperands(command, args, ["<node>"]);
			return { kind: "forget", node: args.operands[0] };
		}
		case "models":
		case "jobs":
		case "studies":
		case "health": {
			const args = parseArgs(command, rest, TENANT);
			expectOperands(command, args, []);
			return withTenant({ kind: command }, args);
		}
		case "deploy": {
			const args = parseArgs(command, rest, {
				values: ["replicas", "memory", "tenant"],
				flags: ["gpu"],
			});
			expectOperands(command, args, ["<model>"]);
			const replicas = args.values.get("replicas");
			const memory = args.values.get("memory");
			return withTenant(
				{
					kind: "deploy",
					model: args.operands[0],
					gpu: args.flags.has("gpu"),
					...(replicas !== undefined && {
						replicas: parseReplicaCount(replicas, "--replicas"),
					}),
					...(memory !== undefined && { memoryBytes: parseMemory(memory) }),
				},
				args,
			);
		}
		case "scale": {
			const args = parseArgs(command, rest, TENANT);
			expectOperands(command, args, ["<model>", "<replicas>"]);
			return withTenant(
				{
					kind: "scale",
					model: args.operands[0],
					replicas: parseReplicaCount(args.operands[1], "The replica count"),
				},
				args,
			);
		}
		case "undeploy": {
			const args = parseArgs(command, rest, TENANT);
			expectOperands(command, args, ["<model>"]);
			return withTenant({ kind: "undeploy", model: args.operands[0] }, args);
		}
		case "predict":
			return parsePredict(line, rest);
		case "optimize":
			return parseOptimize(rest);
		case "optimizations": {
			const args = parseArgs(command, rest, TENANT);
			expectOperands(command, args, ["<model>@<version>"]);
			return withTenant(
				{ kind: "optimizations", ...versionRef(command, args.operands[0]) },
				args,
			);
		}
	}
}

/**
 * `fleet optimize`: the fields of the REST body `POST …/optimize` (docs/optimization.md);
 * `--label-column` is its `labelColumn`. Whether `--label-column`/`--features` may go without
 * `--dataset` is the scheduler's to say, so the REPL and REST answer alike.
 */
function parseOptimize(tokens: readonly Token[]): FleetCommand {
	const args = parseArgs("optimize", tokens, {
		values: ["params", "dataset", "label-column", "features", "tenant"],
		flags: [],
	});
	expectOperands("optimize", args, ["<model>@<version>", "<recipe>"]);
	const params = args.values.get("params");
	const dataset = args.values.get("dataset");
	const labelColumn = args.values.get("label-column");
	const features = args.values.get("features");
	return withTenant(
		{
			kind: "optimize",
			...versionRef("optimize", args.operands[0]),
			recipe: args.operands[1],
			...(params !== undefined && { params: parseParams(params) }),
			...(dataset !== undefined && { dataset }),
			...(labelColumn !== undefined && { labelColumn }),
			...(features !== undefined && { features: parseFeatures(features) }),
		},
		args,
	);
}

/**
 * `--features`: column names separated by commas (`a,b,c`), or a JSON array of strings for
 * names that hold a comma (`'["a,1", "b"]'`).
 */
export function parseFeatures(text: string): string[] {
	let names: unknown;
	if (text.trimStart().startsWith("[")) {
		try {
			names = JSON.parse(text);
		} catch (err) {
			throw new InvalidInputError(
				`--features is not a valid JSON array (${(err as Error).message}); give names separated by commas (a,b,c) or '["a", "b"]'.`,
			);
		}
	} else names = text.split(",").map(name => name.trim());
	if (
		!Array.isArray(names) ||
		names.length === 0 ||
		!names.every(name => typeof name === "string" && name !== "")
	)
		throw new InvalidInputError(
			`--features must name one column or more, none empty, not '${text}'.`,
		);
	return names as string[];
}

/** `model@version`, both parts present. */
function versionRef(command: CommandName, text: string): { model: string; version: string } {
	const at = text.lastIndexOf("@");
	if (at <= 0 || at === text.length - 1)
		throw usageError(command, `'${text}' is not <model>@<version>`);
	return { model: text.slice(0, at), version: text.slice(at + 1) };
}

/** A recipe's params as JSON, or with bare keys (`{level: "all"}`). */
function parseParams(text: string): Record<string, unknown> {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		try {
			value = JSON.parse(quoteBareKeys(text));
		} catch (err) {
			throw new InvalidInputError(
				`--params is not valid JSON (${(err as Error).message}); give an object such as '{"form": "qdq"}'.`,
			);
		}
	}
	if (value === null || typeof value !== "object" || Array.isArray(value))
		throw new InvalidInputError("--params must be a JSON object");
	return value as Record<string, unknown>;
}

function withTenant<C extends FleetCommand>(command: C, args: ParsedArgs): C {
	const tenant = args.values.get("tenant");
	return tenant === undefined ? command : { ...command, tenant };
}

const TRAILING_TENANT = /\s--tenant(?:=|\s+)(\S+)\s*$/;

/**
 * `fleet predict <model> [--tenant t] <json>`: the request is the rest of the line as typed,
 * so JSON needs no shell quoting; a `--tenant t` after it is taken too.
 */
function parsePredict(line: string, tokens: readonly Token[]): FleetCommand {
	const model = tokens[0];
	if (model === undefined || isOption(model)) throw usageError("predict", "missing <model>");
	let tenant: string | undefined;
	let i = 1;
	while (i < tokens.length && isOption(tokens[i])) {
		const width = tokens[i].text.includes("=") ? 1 : 2;
		tenant = parseArgs("predict", tokens.slice(i, i + width), TENANT).values.get("tenant");
		i += width;
	}
	if (i >= tokens.length) throw usageError("predict", "missing <json> request");
	let text = line.slice(tokens[i].start).trim();
	const trailing = TRAILING_TENANT.exec(text);
	if (trailing && tenant === undefined) {
		tenant = trailing[1];
		text = text.slice(0, trailing.index).trim();
	}
	// A request quoted as one shell word ('{"a": 1}') is that word.
	if (text.startsWith("'") || text.startsWith('"')) {
		const words = tokenize(text);
		if (words.length !== 1) {
			throw usageError("predict", "quote the whole request, or none of it");
		}
		text = words[0].text;
	}
	return {
		kind: "predict",
		model: model.text,
		request: parsePredictRequest(text),
		...(tenant !== undefined && { tenant }),
	};
}
