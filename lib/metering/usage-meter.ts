/**
 * A node's meter: counts usage in memory and hands it out as flush records that can be sent
 * again until acknowledged. Each record carries (node, incarnation, sequence): the store applies
 * a key once, so a retried flush never counts twice. The incarnation is new at every start, so
 * a restarted node's sequence starting over does not collide with its previous life's.
 *
 * What a node killed loses: the counts since its last flush was acknowledged — at most one
 * flush interval, and more only while flushes fail (those are kept and retried, up to
 * `maxPending` records; older ones are dropped then, and the count of dropped records said).
 */
import { randomUUID } from "node:crypto";
import { addCounts, hourOf, zeroCounts, type UsageCounts, type UsageRow } from "./usage-counts";

/** One flush: an idempotency key and the rows it adds. */
export interface FlushRecord {
	node: string;
	incarnation: string;
	seq: number;
	rows: UsageRow[];
}

/** One prediction request as the predictor saw it. */
export interface PredictionUsage {
	tenant: string;
	model: string;
	version: string;
	rows: number;
	failed: boolean;
	/** Wall time of the request on the predictor, ms. */
	ms: number;
	/** Whether it ran on a GPU execution provider. */
	gpu: boolean;
	bytesIn: number;
	bytesOut: number;
}

export interface UsageMeterOptions {
	node: string;
	/** Records kept while flushes fail; the oldest are dropped past it. Default 1000. (A record accounts refuses as invalid is dropped at once.) */
	maxPending?: number;
	now?: () => number;
	incarnation?: string;
}

export class UsageMeter {
	readonly incarnation: string;
	private readonly open = new Map<string, UsageRow>();
	private readonly pending: FlushRecord[] = [];
	private seq = 0;
	private readonly now: () => number;
	private readonly maxPending: number;
	/** Records dropped because flushes failed for too long. */
	dropped = 0;

	constructor(private readonly options: UsageMeterOptions) {
		this.incarnation = options.incarnation ?? randomUUID();
		this.now = options.now ?? Date.now;
		this.maxPending = options.maxPending ?? 1000;
	}

	/** Counts one prediction request. */
	prediction(usage: PredictionUsage): void {
		const ms = Math.max(0, Math.round(usage.ms));
		this.add(usage.tenant, usage.model, usage.version, {
			requests: 1,
			rows: usage.failed ? 0 : usage.rows,
			errors: usage.failed ? 1 : 0,
			cpuMs: usage.gpu ? 0 : ms,
			gpuMs: usage.gpu ? ms : 0,
			bytesIn: usage.bytesIn,
			bytesOut: usage.bytesOut,
		});
	}

	/** Counts `seconds` of training for `model` (the job's target; no version yet). */
	training(tenant: string, model: string, seconds: number, gpu: boolean): void {
		const s = Math.max(0, Math.round(seconds));
		this.add(tenant, model, "", gpu ? { trainingGpuS: s } : { trainingCpuS: s });
	}

	/** Whether anything waits to be flushed. */
	get idle(): boolean {
		return this.open.size === 0 && this.pending.length === 0;
	}

	/**
	 * The records to send now, oldest first: those not yet acknowledged, and what was counted
	 * since the last call, as a new record.
	 */
	takeFlush(): FlushRecord[] {
		if (this.open.size > 0) {
			this.seq += 1;
			this.pending.push({
				node: this.options.node,
				incarnation: this.incarnation,
				seq: this.seq,
				rows: [...this.open.values()],
			});
			this.open.clear();
			while (this.pending.length > this.maxPending) {
				this.pending.shift();
				this.dropped += 1;
			}
		}
		return [...this.pending];
	}

	/** The store applied (or had already applied) record `seq`: it is not sent again. */
	acknowledge(seq: number): void {
		const index = this.pending.findIndex(r => r.seq === seq);
		if (index >= 0) this.pending.splice(index, 1);
	}

	/** The current hour's start and its ISO form, made once an hour rather than per request. */
	private hour = { start: -1, iso: "" };

	private add(tenant: string, model: string, version: string, counts: Partial<UsageCounts>) {
		const start = hourOf(this.now());
		if (start !== this.hour.start) this.hour = { start, iso: new Date(start).toISOString() };
		const hour = this.hour.iso;
		const key = `${tenant}\u0000${model}\u0000${version}\u0000${hour}`;
		let row = this.open.get(key);
		if (row === undefined) {
			row = { tenant, model, version, hour, ...zeroCounts() };
			this.open.set(key, row);
		}
		addCounts(row, counts);
	}
}
