/**
 * What metering counts, per tenant, model and version, per UTC hour: prediction requests, rows,
 * errors, runtime (CPU and GPU ms), tensor bytes in and out, training seconds by device kind.
 * Counts add; a flush carries them for the hours they fell in.
 */

/** The counters of one tenant, model, version and hour. All whole numbers. */
export interface UsageCounts {
	requests: number;
	rows: number;
	errors: number;
	/** ms spent serving requests on a CPU execution provider. */
	cpuMs: number;
	/** ms spent serving requests on a GPU (CUDA) execution provider. */
	gpuMs: number;
	/** Input tensor bytes of the requests. */
	bytesIn: number;
	/** Output tensor bytes of the answers. */
	bytesOut: number;
	/** Seconds of training on CPU-only trainers. */
	trainingCpuS: number;
	/** Seconds of training on GPU trainers. */
	trainingGpuS: number;
}

export const USAGE_FIELDS = [
	"requests",
	"rows",
	"errors",
	"cpuMs",
	"gpuMs",
	"bytesIn",
	"bytesOut",
	"trainingCpuS",
	"trainingGpuS",
] as const satisfies ReadonlyArray<keyof UsageCounts>;

export function zeroCounts(): UsageCounts {
	return {
		requests: 0,
		rows: 0,
		errors: 0,
		cpuMs: 0,
		gpuMs: 0,
		bytesIn: 0,
		bytesOut: 0,
		trainingCpuS: 0,
		trainingGpuS: 0,
	};
}

/** Adds `more` into `into` (changed in place) and returns it. */
export function addCounts(into: UsageCounts, more: Partial<UsageCounts>): UsageCounts {
	for (const field of USAGE_FIELDS) into[field] += more[field] ?? 0;
	return into;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The start of the UTC hour `ms` falls in, ms since the epoch. */
export function hourOf(ms: number): number {
	return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** The start of the UTC day `ms` falls in, ms since the epoch. */
export function dayOf(ms: number): number {
	return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Which counters one row of usage belongs to. */
export interface UsageKey {
	tenant: string;
	model: string;
	/** "" when the request failed before a version was resolved (an unknown model). */
	version: string;
	/** The UTC hour, ISO 8601. */
	hour: string;
}

export type UsageRow = UsageKey & UsageCounts;
