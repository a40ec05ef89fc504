/**
 * ModelfleetClient: typed methods over fetch for the gateway's REST API (docs/http-api.md),
 * used by the CLI and the tests so no REST call is hand-built twice. Every refusal throws a
 * ModelfleetApiError with the status, type and message of the gateway's error body.
 */
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { ModelfleetApiError, apiErrorFrom, outcomeUnknown } from "./errors";
import { readSse } from "./sse";
import type {
	Alias,
	Dataset,
	DatasetOptions,
	Deployment,
	FleetNode,
	ListQuery,
	Model,
	ModelVersion,
	NewDeployment,
	NewModel,
	Page,
	PredictRequest,
	PredictResponse,
	TrainingEvent,
	TrainingJob,
	TrainingJobSpec,
	UploadOptions,
	UsageQuery,
	UsageReport,
} from "./types";
import { progressStream, sourceSize, type ProgressCallback, type UploadSource } from "./upload";

export interface ClientOptions {
	/** The gateway, e.g. `http://localhost:3000` (a trailing `/api/v1` is accepted too). */
	url: string;
	apiKey: string;
	/** Another fetch (tests, proxies); default the global one. */
	fetch?: typeof fetch;
	/** Sent as `user-agent`. */
	userAgent?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

interface CallInit {
	method?: string;
	query?: Query;
	json?: unknown;
	body?: ReadableStream<Uint8Array>;
	headers?: Record<string, string>;
	signal?: AbortSignal;
}

const enc = encodeURIComponent;

export class ModelfleetClient {
	/** The gateway's root URL, without `/api/v1`. */
	readonly url: string;
	private readonly apiKey: string;
	private readonly fetchImpl: typeof fetch;
	private readonly userAgent: string | undefined;

	constructor(options: ClientOptions) {
		this.url = options.url.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
		this.apiKey = options.apiKey;
		this.fetchImpl = options.fetch ?? fetch;
		this.userAgent = options.userAgent;
	}

	// --- models, versions, aliases -------------------------------------------------------

	listModels(query: ListQuery & { tag?: string; task?: string; prefix?: string } = {}) {
		return this.json<Page<Model>>("/models", { query: { ...query } });
	}

	getModel(name: string) {
		return this.json<Model>(`/models/${enc(name)}`);
	}

	createModel(model: NewModel) {
		return this.json<Model>("/models", { method: "POST", json: model });
	}

	deleteModel(name: string) {
		return this.json<unknown>(`/models/${enc(name)}`, { method: "DELETE" });
	}

	listVersions(model: string, query: ListQuery & { state?: string } = {}) {
		return this.json<Page<ModelVersion>>(`/models/${enc(model)}/versions`, {
			query: { ...query },
		});
	}

	getVersion(model: string, version: string) {
		return this.json<ModelVersion>(`/models/${enc(model)}/versions/${enc(version)}`);
	}

	/**
	 * Uploads a model file as a new version of `model`, streaming it (a file is never read
	 * whole into memory); `onProgress` hears the bytes sent. Sent with an idempotency key
	 * (`options.idempotencyKey`, else a new one): the client does not retry by itself, but an
	 * error that leaves unknown whether the version was made carries the key, so that the
	 * caller can send the upload again without making a second version.
	 */
	async uploadVersion(
		model: string,
		source: UploadSource,
		options: UploadOptions & { onProgress?: ProgressCallback } = {},
	): Promise<ModelVersion> {
		const { onProgress, idempotencyKey = randomUUID(), ...rest } = options;
		const fileName =
			rest.fileName ?? ("path" in source ? path.basename(source.path) : "model.bin");
		return this.upload<ModelVersion>(
			`/models/${enc(model)}/versions/upload`,
			{ ...rest, fileName },
			source,
			"application/octet-stream",
			onProgress,
			idempotencyKey,
		);
	}

	transition(model: string, version: string, to: string, reason?: string) {
		return this.json<ModelVersion>(
			`/models/${enc(model)}/versions/${enc(version)}/transition`,
			{ method: "POST", json: reason === undefined ? { to } : { to, reason } },
		);
	}

	listAliases(model: string) {
		return this.json<Page<Alias> | Alias[]>(`/models/${enc(model)}/aliases`);
	}

	setAlias(model: string, alias: string, version: string) {
		return this.json<Alias>(`/models/${enc(model)}/aliases/${enc(alias)}`, {
			method: "PUT",
			json: { version },
		});
	}

	deleteAlias(model: string, alias: string) {
		return this.json<unknown>(`/models/${enc(model)}/aliases/${enc(alias)}`, {
			method: "DELETE",
		});
	}

	// --- datasets ------------------------------------------------------------------------

	/** Uploads a CSV or NDJSON file as the next version of dataset `options.name`. */
	pushDataset(
		source: UploadSource,
		options: DatasetOptions & { onProgress?: ProgressCallback },
	): Promise<Dataset> {
		const { onProgress, ...rest } = options;
		const format =
			rest.format ??
			("path" in source && /\.(nd)?jsonl?$/i.test(source.path) ? "ndjson" : "csv");
		return this.upload<Dataset>(
			"/datasets",
			{ ...rest, format },
			source,
			format === "csv" ? "text/csv" : "application/x-ndjson",
			onProgress,
		);
	}

	listDatasets(query: ListQuery = {}) {
		return this.json<Page<Dataset>>("/datasets", { query: { ...query } });
	}

	getDataset(ref: string) {
		return this.json<Dataset>(`/datasets/${enc(ref)}`);
	}

	// --- training ------------------------------------------------------------------------

	submitTrainingJob(spec: TrainingJobSpec) {
		return this.json<TrainingJob>("/training-jobs", { method: "POST", json: spec });
	}

	getTrainingJob(id: string) {
		return this.json<TrainingJob>(`/training-jobs/${enc(id)}`);
	}

	listTrainingJobs(query: ListQuery & { state?: string } = {}) {
		return this.json<Page<TrainingJob>>("/training-jobs", { query: { ...query } });
	}

	cancelTrainingJob(id: string) {
		return this.json<TrainingJob>(`/training-jobs/${enc(id)}/cancel`, { method: "POST" });
	}

	/**
	 * The job's progress stream: its state, one `progress` per epoch (the epochs so far
	 * first), then `end`, after which the iteration stops.
	 */
	async *followTrainingJob(id: string, signal?: AbortSignal): AsyncGenerator<TrainingEvent> {
		const response = await this.send(`/training-jobs/${enc(id)}/events`, {
			headers: { accept: "text/event-stream" },
			signal,
		});
		if (!response.body) return;
		for await (const message of readSse(response.body)) {
			const event = parseTrainingEvent(message.event, message.data);
			yield event;
			if (event.type === "end") return;
		}
	}

	// --- deployments and prediction ------------------------------------------------------

	listDeployments(query: ListQuery = {}) {
		return this.json<Page<Deployment>>("/deployments", { query: { ...query } });
	}

	getDeployment(model: string) {
		return this.json<Deployment>(`/deployments/${enc(model)}`);
	}

	createDeployment(deployment: NewDeployment) {
		return this.json<Deployment>("/deployments", { method: "POST", json: deployment });
	}

	updateDeployment(model: string, patch: Record<string, unknown>) {
		return this.json<Deployment>(`/deployments/${enc(model)}`, {
			method: "PATCH",
			json: patch,
		});
	}

	deleteDeployment(model: string) {
		return this.json<unknown>(`/deployments/${enc(model)}`, { method: "DELETE" });
	}

	scaleDeployment(model: string, replicas: number) {
		return this.json<Deployment>(`/deployments/${enc(model)}/scale`, {
			method: "POST",
			json: { replicas },
		});
	}

	/** Sends all traffic to `version` (default: the canary). */
	promoteDeployment(model: string, version?: string) {
		return this.json<Deployment>(`/deployments/${enc(model)}/promote`, {
			method: "POST",
			json: version === undefined ? {} : { version },
		});
	}

	rollbackDeployment(model: string) {
		return this.json<Deployment>(`/deployments/${enc(model)}/rollback`, {
			method: "POST",
			json: {},
		});
	}

	predict(model: string, request: PredictRequest, version?: string) {
		const route =
			version === undefined
				? `/models/${enc(model)}/predict`
				: `/models/${enc(model)}/versions/${enc(version)}/predict`;
		return this.json<PredictResponse>(route, { method: "POST", json: request });
	}

	// --- fleet, tenant and usage ---------------------------------------------------------

	/** The caller's tenant: what a key can always read, so it checks a key. */
	getTenant() {
		return this.json<Record<string, unknown>>("/tenant");
	}

	listNodes(query: { role?: string; available?: boolean } = {}) {
		return this.json<FleetNode[] | Page<FleetNode>>("/nodes", { query: { ...query } });
	}

	usage(query: UsageQuery = {}) {
		return this.json<UsageReport>("/usage", { query: { ...query } });
	}

	// --- plumbing ------------------------------------------------------------------------

	/** A streamed upload; with `idempotencyKey`, a create that hands its key back on an unknown outcome. */
	private async upload<T>(
		route: string,
		query: Query,
		source: UploadSource,
		contentType: string,
		onProgress?: ProgressCallback,
		idempotencyKey?: string,
	): Promise<T> {
		let total: number;
		try {
			total = await sourceSize(source);
		} catch (err) {
			throw new ModelfleetApiError(0, "FILE_UNREADABLE", (err as Error).message);
		}
		try {
			return await this.json<T>(route, {
				method: "POST",
				query,
				body: progressStream(source, total, onProgress),
				headers: {
					"content-type": contentType,
					...(idempotencyKey !== undefined ? { "idempotency-key": idempotencyKey } : {}),
				},
			});
		} catch (err) {
			if (
				err instanceof ModelfleetApiError &&
				idempotencyKey !== undefined &&
				outcomeUnknown(err)
			)
				err.idempotencyKey = idempotencyKey;
			throw err;
		}
	}

	private async json<T>(route: string, init: CallInit = {}): Promise<T> {
		const response = await this.send(route, init);
		const text = await this.bodyOf(response);
		if (text === "") return undefined as T;
		try {
			return JSON.parse(text) as T;
		} catch {
			throw new ModelfleetApiError(
				response.status,
				"UNEXPECTED_RESPONSE",
				`The server answered ${response.status} with a body that is not JSON`,
			);
		}
	}

	/** Sends one call; a refused answer or a network failure throws ModelfleetApiError. */
	private async send(route: string, init: CallInit): Promise<Response> {
		const url = new URL(`${this.url}/api/v1${route}`);
		for (const [name, value] of Object.entries(init.query ?? {}))
			if (value !== undefined) url.searchParams.set(name, String(value));
		const headers: Record<string, string> = {
			authorization: `Bearer ${this.apiKey}`,
			accept: "application/json",
			...(init.json !== undefined ? { "content-type": "application/json" } : {}),
			...(this.userAgent ? { "user-agent": this.userAgent } : {}),
			...init.headers,
		};
		let response: Response;
		try {
			response = await this.fetchImpl(url, {
				method: init.method ?? "GET",
				headers,
				body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
				signal: init.signal,
				// A stream body needs half duplex in Node's fetch.
				...(init.body ? { duplex: "half" } : {}),
			} as RequestInit);
		} catch (err) {
			if (err instanceof ModelfleetApiError) throw err;
			const cause = (err as { cause?: { message?: string } }).cause?.message;
			throw new ModelfleetApiError(
				0,
				"NETWORK_ERROR",
				`Cannot reach ${this.url}: ${cause ?? (err as Error).message}`,
			);
		}
		if (!response.ok) throw apiErrorFrom(response.status, await this.bodyOf(response));
		return response;
	}

	/** The answer's body; one cut off (the connection dropped) is a NETWORK_ERROR with its status. */
	private async bodyOf(response: Response): Promise<string> {
		try {
			return await response.text();
		} catch (err) {
			const cause = (err as { cause?: { message?: string } }).cause?.message;
			throw new ModelfleetApiError(
				response.status,
				"NETWORK_ERROR",
				`The answer of ${this.url} (HTTP ${response.status}) was cut off: ${cause ?? (err as Error).message}`,
			);
		}
	}
}

/** One SSE message of a training job's stream as a typed event. */
export function parseTrainingEvent(event: string, data: string): TrainingEvent {
	let parsed: unknown;
	try {
		parsed = JSON.parse(data);
	} catch {
		return { type: "other", event, data };
	}
	if (
		(event === "state" || event === "progress" || event === "end") &&
		parsed !== null &&
		typeof parsed === "object"
	)
		return { ...(parsed as object), type: event } as TrainingEvent;
	return { type: "other", event, data: parsed };
}
