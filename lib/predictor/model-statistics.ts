/**
 * Triton's statistics extension, counted where requests are served: per tenant, model and
 * version, since the node started — successful and failed requests with their whole time,
 * the time each waited in the batching queue, the time to prepare inputs (validation and
 * pre-processing), to run the model (the batch's run, counted once per request in it, as
 * Triton does) and to make the outputs (post-processing, classification), plus the rows
 * served (`inference_count`), the model runs (`execution_count`, one per batch) and per batch
 * size how many runs took how long. A snapshot is Triton's JSON (`model_stats` entries);
 * `mergeModelStats` adds up the snapshots of several nodes (a fleet).
 */
import type { BatchQueueHooks } from "../batching/batch-queue";
import type { ServedEvent } from "./predictor";

/** A count and its cumulative duration, in nanoseconds. */
export interface DurationStat {
	count: number;
	ns: number;
}

export interface InferenceStats {
	success: DurationStat;
	fail: DurationStat;
	queue: DurationStat;
	compute_input: DurationStat;
	compute_infer: DurationStat;
	compute_output: DurationStat;
	cache_hit: DurationStat;
	cache_miss: DurationStat;
}

export interface BatchStat {
	batch_size: number;
	compute_input: DurationStat;
	compute_infer: DurationStat;
	compute_output: DurationStat;
}

/** One `model_stats` entry of Triton's statistics response. */
export interface ModelStat {
	name: string;
	version: string;
	/** The last request's time, ms since the epoch (0: none yet). */
	last_inference: number;
	inference_count: number;
	execution_count: number;
	inference_stats: InferenceStats;
	batch_stats: BatchStat[];
}

const STAT_NAMES = [
	"success",
	"fail",
	"queue",
	"compute_input",
	"compute_infer",
	"compute_output",
	"cache_hit",
	"cache_miss",
] as const satisfies readonly (keyof InferenceStats)[];

const zero = (): DurationStat => ({ count: 0, ns: 0 });

/** An entry with nothing counted yet. */
export function emptyModelStat(name: string, version: string): ModelStat {
	return {
		name,
		version,
		last_inference: 0,
		inference_count: 0,
		execution_count: 0,
		inference_stats: Object.fromEntries(
			STAT_NAMES.map(n => [n, zero()]),
		) as unknown as InferenceStats,
		batch_stats: [],
	};
}

const msToNs = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

function add(stat: DurationStat, count: number, ns: number): void {
	stat.count += count;
	stat.ns += ns;
}

/** A request that was served: its rows and its times, in ms. */
export interface ServedRequest {
	rows: number;
	totalMs: number;
	inputMs: number;
	outputMs: number;
}

/** A batch the model ran: its requests and rows, and how long the run took, in ms. */
export interface ExecutedBatch {
	requests: number;
	rows: number;
	computeMs: number;
	failed: boolean;
}

interface Entry {
	tenant: string;
	stat: ModelStat;
	batches: Map<number, BatchStat>;
}

/** See the module comment. At most `maxEntries` model versions are kept (the oldest go). */
export class ModelStatistics {
	private readonly entries = new Map<string, Entry>();

	constructor(
		private readonly maxEntries = 10_000,
		private readonly now: () => number = Date.now,
	) {}

	private entry(tenant: string, model: string, version: string): Entry {
		const key = `${tenant}\u0000${model}\u0000${version}`;
		let entry = this.entries.get(key);
		if (entry === undefined) {
			if (this.entries.size >= this.maxEntries) {
				const oldest = this.entries.keys().next().value as string;
				this.entries.delete(oldest);
			}
			entry = { tenant, stat: emptyModelStat(model, version), batches: new Map() };
			this.entries.set(key, entry);
		}
		return entry;
	}

	succeeded(tenant: string, model: string, version: string, request: ServedRequest): void {
		const { stat } = this.entry(tenant, model, version);
		const s = stat.inference_stats;
		add(s.success, 1, msToNs(request.totalMs));
		add(s.compute_input, 1, msToNs(request.inputMs));
		add(s.compute_output, 1, msToNs(request.outputMs));
		stat.inference_count += request.rows;
		stat.last_inference = this.now();
	}

	failed(tenant: string, model: string, version: string, totalMs: number): void {
		const { stat } = this.entry(tenant, model, version);
		add(stat.inference_stats.fail, 1, msToNs(totalMs));
		stat.last_inference = this.now();
	}

	/** A request left the batching queue (for a run, or at its deadline) after `queueMs`. */
	queued(tenant: string, model: string, version: string, queueMs: number): void {
		add(this.entry(tenant, model, version).stat.inference_stats.queue, 1, msToNs(queueMs));
	}

	/** A batch ran; a failed run is no execution (its requests count as failures). */
	executed(tenant: string, model: string, version: string, batch: ExecutedBatch): void {
		if (batch.failed) return;
		const entry = this.entry(tenant, model, version);
		const ns = msToNs(batch.computeMs);
		entry.stat.execution_count += 1;
		add(entry.stat.inference_stats.compute_infer, batch.requests, ns * batch.requests);
		let bySize = entry.batches.get(batch.rows);
		if (bySize === undefined) {
			bySize = {
				batch_size: batch.rows,
				compute_input: zero(),
				compute_infer: zero(),
				compute_output: zero(),
			};
			entry.batches.set(batch.rows, bySize);
		}
		add(bySize.compute_infer, 1, ns);
		// Inputs and outputs are made per request here, not per batch: counted, no time of their own.
		add(bySize.compute_input, 1, 0);
		add(bySize.compute_output, 1, 0);
	}

	/** The tenant's entries (of one model, one version), as Triton's JSON; sorted by name, version. */
	snapshot(tenant: string, filter: { model?: string; version?: string } = {}): ModelStat[] {
		const out: ModelStat[] = [];
		for (const { tenant: owner, stat, batches } of this.entries.values()) {
			if (owner !== tenant) continue;
			if (filter.model !== undefined && stat.name !== filter.model) continue;
			if (filter.version !== undefined && stat.version !== filter.version) continue;
			out.push(
				structuredClone({
					...stat,
					batch_stats: [...batches.values()].sort((a, b) => a.batch_size - b.batch_size),
				}),
			);
		}
		return sortStats(out);
	}
}

function sortStats(stats: ModelStat[]): ModelStat[] {
	return stats.sort((a, b) =>
		a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name),
	);
}

function addDuration(into: DurationStat, from: DurationStat | undefined): void {
	if (from) add(into, from.count, from.ns);
}

/** Several nodes' entries added up per model and version (the fleet's view). */
export function mergeModelStats(lists: readonly (readonly ModelStat[])[]): ModelStat[] {
	const merged = new Map<string, { stat: ModelStat; batches: Map<number, BatchStat> }>();
	for (const list of lists)
		for (const stat of list) {
			const key = `${stat.name}\u0000${stat.version}`;
			let into = merged.get(key);
			if (into === undefined) {
				into = { stat: emptyModelStat(stat.name, stat.version), batches: new Map() };
				merged.set(key, into);
			}
			into.stat.last_inference = Math.max(into.stat.last_inference, stat.last_inference);
			into.stat.inference_count += stat.inference_count;
			into.stat.execution_count += stat.execution_count;
			for (const name of STAT_NAMES)
				addDuration(into.stat.inference_stats[name], stat.inference_stats[name]);
			for (const batch of stat.batch_stats) {
				let bySize = into.batches.get(batch.batch_size);
				if (bySize === undefined) {
					bySize = {
						batch_size: batch.batch_size,
						compute_input: zero(),
						compute_infer: zero(),
						compute_output: zero(),
					};
					into.batches.set(batch.batch_size, bySize);
				}
				addDuration(bySize.compute_input, batch.compute_input);
				addDuration(bySize.compute_infer, batch.compute_infer);
				addDuration(bySize.compute_output, batch.compute_output);
			}
		}
	return sortStats(
		[...merged.values()].map(({ stat, batches }) => ({
			...stat,
			batch_stats: [...batches.values()].sort((a, b) => a.batch_size - b.batch_size),
		})),
	);
}

/** The batching hooks of one served version, also counting its queue time and its runs. */
export function countingQueueHooks(
	hooks: BatchQueueHooks,
	statistics: ModelStatistics,
	tenant: string,
	model: string,
	version: string,
): BatchQueueHooks {
	return {
		...hooks,
		requestDequeued: e => {
			statistics.queued(tenant, model, version, e.queueMs);
			hooks.requestDequeued?.(e);
		},
		batchCompleted: e => {
			statistics.executed(tenant, model, version, e);
			hooks.batchCompleted?.(e);
		},
	};
}

/** The predictor's `served` hook, counting each infer request's end. */
export function countServed(statistics: ModelStatistics): (event: ServedEvent) => void {
	return e => {
		if (e.ok)
			statistics.succeeded(e.tenant, e.model, e.version, {
				rows: e.rows,
				totalMs: e.totalMs,
				inputMs: e.timing.inputMs,
				outputMs: e.timing.outputMs,
			});
		else statistics.failed(e.tenant, e.model, e.version, e.totalMs);
	};
}
