/**
 * What the REST API answers, as far as clients rely on it. The gateway sends more fields than
 * these name; the index signatures keep them without claiming their types.
 */
export interface Page<T> {
	items: T[];
	nextCursor?: string | null;
}

export interface ListQuery {
	limit?: number;
	cursor?: string;
}

export interface Model {
	name: string;
	task: string;
	framework: string;
	description?: string | null;
	tags?: Record<string, string>;
	createdAt?: string;
	[field: string]: unknown;
}

export interface NewModel {
	name: string;
	task: string;
	framework: string;
	description?: string;
	tags?: Record<string, string>;
}

export interface ModelVersion {
	model?: string;
	version: string;
	state: string;
	format: string;
	metrics?: Array<{ name: string; value: number }>;
	aliases?: string[];
	[field: string]: unknown;
}

export interface UploadOptions {
	/** A semver; or `bump` (major, minor, patch) for the next one. */
	version?: string;
	bump?: "major" | "minor" | "patch";
	format?: string;
	/** The file's name as stored; default the source path's base name, or `model.bin`. */
	fileName?: string;
	/** The lifecycle state to register it in (e.g. `Validated` to deploy it at once). */
	state?: string;
	/**
	 * Sent as `Idempotency-Key` (docs/http-api.md#idempotent-creates): the same upload sent
	 * again with it answers the version the first made instead of making a second (keys starting
	 * with `job:` are the fleet's, refused). Default: a new random key for each call, handed back
	 * on the error of a call whose outcome is unknown (`ModelfleetApiError.idempotencyKey`).
	 */
	idempotencyKey?: string;
}

export interface Alias {
	alias: string;
	version: string;
	[field: string]: unknown;
}

export interface Dataset {
	name: string;
	version: number;
	ref: string;
	rows: number;
	[field: string]: unknown;
}

export interface DatasetOptions {
	name: string;
	labelColumn?: string;
	/** Default: from the file name (`.ndjson`/`.jsonl` → ndjson), else csv. */
	format?: "csv" | "ndjson";
}

export interface TrainingJobSpec {
	target: string;
	dataset: string;
	labelColumn: string;
	epochs?: number;
	[field: string]: unknown;
}

export type TrainingJobState = "queued" | "running" | "completed" | "failed" | "cancelled";

export interface TrainingJob {
	id: string;
	model: string;
	state: TrainingJobState;
	epoch: number;
	result: Record<string, unknown> | null;
	error: string | null;
	[field: string]: unknown;
}

/** One event of a job's progress stream (`GET /training-jobs/{id}/events`). */
export type TrainingEvent =
	| {
			type: "state";
			state: string;
			nodeID?: string;
			fromEpoch?: number;
			[field: string]: unknown;
	  }
	| {
			type: "progress";
			epoch: number;
			epochs: number;
			metrics: Record<string, number>;
			etaMs?: number;
			samplesPerSecond?: number;
			[field: string]: unknown;
	  }
	| {
			type: "end";
			state: TrainingJobState;
			result?: Record<string, unknown> | null;
			error?: string | null;
			[field: string]: unknown;
	  }
	| { type: "other"; event: string; data: unknown };

export interface Deployment {
	model: string;
	replicas: number;
	readyReplicas: number;
	traffic?: Array<{ version: string; weight: number }>;
	[field: string]: unknown;
}

export interface NewDeployment {
	model: string;
	version?: string;
	replicas?: number;
	[field: string]: unknown;
}

/** `instances` (rows by feature name, or arrays) or Open Inference Protocol `inputs`. */
export interface PredictRequest {
	instances?: unknown[];
	inputs?: unknown[];
	outputs?: unknown[];
	id?: string;
	parameters?: Record<string, unknown>;
}

export interface PredictResponse {
	model_name?: string;
	model_version?: string;
	outputs: Array<{ name: string; shape: number[]; datatype: string; data: unknown[] }>;
	[field: string]: unknown;
}

export interface FleetNode {
	nodeID: string;
	role: string;
	available: boolean;
	hostname?: string;
	capacity?: Record<string, unknown>;
	status?: Record<string, unknown> | null;
	[field: string]: unknown;
}

export interface UsageQuery {
	from?: string;
	to?: string;
	granularity?: "hour" | "day";
	model?: string;
	tenant?: string;
}

/** `GET /usage`: the rows per model, version and period; `storage` per day with `granularity=day`. */
export interface UsageReport {
	tenant: string;
	from: string;
	to: string;
	granularity: "hour" | "day";
	usage: UsageRow[];
	storage?: Array<Record<string, unknown>>;
	[field: string]: unknown;
}

export interface UsageRow {
	tenant?: string;
	period?: string;
	model?: string;
	version?: string;
	requests?: number;
	rows?: number;
	errors?: number;
	[field: string]: unknown;
}
