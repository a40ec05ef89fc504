/**
 * The bodies of Triton's model repository requests: the index's `{ready?}` and a load's
 * `{parameters?}` with `config` (a model configuration) and `file:<version>/<path>` entries
 * holding model files base64-encoded (Triton's load override), plus `version`, ours, to load
 * one version by name.
 */
import * as semver from "semver";
import { InvalidInputError } from "../../errors";
import { parseTritonConfig, type TritonLoadConfig } from "./triton-model-config";

export interface RepositoryLoadRequest {
	config: TritonLoadConfig | null;
	/** Model files by version (`N.0.0` for Triton's bare integer N), each by its path. */
	files: Map<string, Map<string, Buffer>>;
	/** The version to serve, when the request names one (`parameters.version`). */
	version: string | null;
}

const FILE_PREFIX = "file:";
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Triton names versions by integers; here `N` is `N.0.0`, and a semantic version is itself. */
export function repositoryVersion(text: string, where: string): string {
	if (/^\d{1,15}$/.test(text)) return `${Number(text)}.0.0`;
	if (semver.valid(text) === text) return text;
	throw new InvalidInputError(
		`${where}: '${text}' is not a version; use an integer (1 is 1.0.0) or a semantic version such as 1.2.0.`,
		{ field: where },
	);
}

/** The request's parameters object; an empty body or `{}` has none. */
function parametersOf(body: unknown, what: string): Record<string, unknown> {
	if (body === undefined || body === null) return {};
	if (!isObject(body))
		throw new InvalidInputError(`The ${what} request must be a JSON object.`, {
			field: "body",
		});
	const parameters = body.parameters;
	if (parameters === undefined || parameters === null) return {};
	if (!isObject(parameters))
		throw new InvalidInputError(`parameters must be an object of named values.`, {
			field: "parameters",
		});
	return parameters;
}

function decodeFile(key: string, value: unknown): Buffer {
	const text = typeof value === "string" ? value.replace(/\s+/g, "") : null;
	if (text === null || text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text))
		throw new InvalidInputError(
			`parameters['${key}'] must hold the file's bytes base64-encoded (standard alphabet, padded).`,
			{ field: `parameters.${key}` },
		);
	return Buffer.from(text, "base64");
}

/** `file:1/model.onnx` → ["1.0.0", "model.onnx"]; the path stays inside its version. */
function fileTarget(key: string): [string, string] {
	const rest = key.slice(FILE_PREFIX.length);
	const slash = rest.indexOf("/");
	const path = slash > 0 ? rest.slice(slash + 1) : "";
	if (
		slash <= 0 ||
		path === "" ||
		path.startsWith("/") ||
		path.split("/").some(part => part === "" || part === "." || part === "..")
	)
		throw new InvalidInputError(
			`parameters['${key}']: name files as file:<version>/<path>, e.g. file:1/model.onnx.`,
			{ field: `parameters.${key}` },
		);
	return [repositoryVersion(rest.slice(0, slash), `parameters['${key}']`), path];
}

/**
 * A load request's body (already parsed JSON; undefined for an empty body).
 * @throws InvalidInputError (400) for a malformed config, file or version, or files without a
 *   config naming their backend (Triton, too, takes files only with a config)
 */
export function parseLoadRequest(body: unknown, model: string): RepositoryLoadRequest {
	const parameters = parametersOf(body, "load");
	const files = new Map<string, Map<string, Buffer>>();
	for (const [key, value] of Object.entries(parameters)) {
		if (!key.startsWith(FILE_PREFIX)) continue;
		const [version, path] = fileTarget(key);
		let byPath = files.get(version);
		if (!byPath) files.set(version, (byPath = new Map()));
		byPath.set(path, decodeFile(key, value));
	}
	const config =
		parameters.config === undefined || parameters.config === null
			? null
			: parseTritonConfig(parameters.config, model);
	if (files.size > 0 && config?.format == null)
		throw new InvalidInputError(
			"Model files need a config parameter naming their backend: onnxruntime, fil (model_type xgboost_json) or tfjs.",
			{ field: "parameters.config" },
		);
	const version = parameters.version;
	if (version !== undefined && typeof version !== "string" && typeof version !== "number")
		throw new InvalidInputError("parameters.version must be a version string or integer.", {
			field: "parameters.version",
		});
	return {
		config,
		files,
		version:
			version === undefined ? null : repositoryVersion(String(version), "parameters.version"),
	};
}

/** An index request's `ready` flag (only models ready for inference when true). */
export function parseIndexRequest(body: unknown): { ready: boolean } {
	if (body === undefined || body === null) return { ready: false };
	if (!isObject(body))
		throw new InvalidInputError("The index request must be a JSON object.", { field: "body" });
	const ready = body.ready;
	if (ready !== undefined && typeof ready !== "boolean")
		throw new InvalidInputError("ready must be true or false.", { field: "ready" });
	return { ready: ready === true };
}
