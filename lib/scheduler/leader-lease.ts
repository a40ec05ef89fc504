/**
 * Control-plane leadership by lease, in the metadata database every control node shares.
 *
 * One row of `control_leases` names the holder (node ID and process instance), its epoch and
 * when the lease expires by the database's clock. Every control node runs a loop: the holder
 * renews the lease every `renewMs`; the others try to take it, which succeeds only once it has
 * expired, and then adds one to the epoch. A holder that dies stops renewing, so another node
 * leads at most `ttlMs + renewMs` (plus one database round trip) after the last renewal.
 *
 * A node stops acting the moment it cannot be sure it still holds the lease: its own belief
 * ends `ttlMs` after it *sent* its last successful renewal — never later than the database's
 * expiry — so a process paused past its lease (SIGSTOP, a long GC pause) finds its belief over
 * when it resumes, before it does anything. And every leader write is fenced: it runs in a
 * transaction that first reads the lease row `FOR SHARE` with this node's epoch and an expiry
 * in the future; if the row says otherwise the write is refused (LeaseLostError) and the node
 * steps down. The shared row lock makes a takeover wait for a fenced write under way, so a
 * stale leader's write can neither land after a new leader's start nor interleave with it.
 *
 * Why PostgreSQL and not a NATS KV key with a TTL: the writes to fence are PostgreSQL rows, and
 * only a check in the same transaction as the write makes a stale leader's write fail; a lease
 * in another store would leave a window between the check and the write. Why a row and not a
 * session advisory lock: a paused process keeps its connection, so its advisory lock would stay
 * held (no takeover), and an advisory lock has no epoch to fence with.
 */
import { and, eq, gt, sql } from "drizzle-orm";
import type { Db } from "../db/database";
import { controlLeases } from "../db/schema";
import { LeaseLostError } from "../errors";

/** A write run under the lease's fence (or, outside a fleet's leader, plainly). */
export interface WriteFence {
	/** Runs `write` in a transaction; a fenced one first checks that the lease is still held. */
	write<T>(write: (db: Db) => PromiseLike<T>): Promise<T>;
}

/** A fence that checks nothing: stores used outside the scheduler (tests, tools). */
export function unfenced(db: Db): WriteFence {
	return { write: write => db.transaction(async tx => await write(tx as unknown as Db)) };
}

export interface LeaderLeaseOptions {
	db: Db;
	/** The lease's name: one leader per name. */
	name: string;
	/** This node's ID, shown as the leader. */
	nodeID: string;
	/** This process's own ID: a node restarted under the same ID is a new holder. */
	instanceID: string;
	/** How long a lease lasts without renewal, ms. */
	ttlMs: number;
	/** How often the holder renews and the others try to take it, ms. */
	renewMs: number;
	/** Monotonic time, ms (performance.now). */
	now?: () => number;
	/** Told of every change of this node's leadership, with why. */
	onChange?: (leading: boolean, epoch: number | null, reason: string) => void;
	/** Told when a round with the database failed (it is tried again next round). */
	warn?: (message: string) => void;
}

/** Told of a change of this node's leadership: whether it leads now, the epoch, and why. */
export type LeadershipListener = (leading: boolean, epoch: number | null, reason: string) => void;

/** Who holds the lease, as the database has it. */
export interface LeaseHolder {
	nodeID: string;
	epoch: number;
	/** Whether the lease is in force (not expired) by the database's clock. */
	live: boolean;
	acquiredAt: string;
	expiresAt: string;
}

interface Held {
	epoch: number;
	/** Monotonic time past which this node no longer counts on the lease. */
	until: number;
}

export class LeaderLease implements WriteFence {
	private held: Held | null = null;
	private timer: NodeJS.Timeout | null = null;
	private deadline: NodeJS.Timeout | null = null;
	/** Whether rounds follow each other on their own (`start`). */
	private running = false;
	private stopped = false;
	private round: Promise<void> = Promise.resolve();
	private readonly now: () => number;
	private readonly holder: string;
	private readonly listeners = new Set<LeadershipListener>();

	constructor(private readonly options: LeaderLeaseOptions) {
		this.now = options.now ?? (() => performance.now());
		this.holder = `${options.nodeID}#${options.instanceID}`;
	}

	/** Adds a listener of leadership changes; answers the function that removes it. */
	subscribe(listener: LeadershipListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** Whether this node leads now: it holds the lease and its belief has not run out. */
	isLeader(): boolean {
		return this.currentEpoch() !== null;
	}

	/** The epoch this node leads under, or null. */
	currentEpoch(): number | null {
		const held = this.held;
		if (held === null) return null;
		if (this.now() >= held.until) {
			this.stepDown("its lease ran out before it could renew it");
			return null;
		}
		return held.epoch;
	}

	/** Starts the loop: a first round now, then one every `renewMs`. */
	start(): Promise<void> {
		this.running = true;
		return this.tick();
	}

	/** Stops the loop and hands the lease back, so another node takes over at once. */
	async stop(): Promise<void> {
		this.running = false;
		this.stopped = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		// A database that does not answer must not hold the node's shutdown up.
		const atMost = (work: Promise<unknown>) =>
			Promise.race([
				work.catch(() => undefined),
				new Promise(resolve => setTimeout(resolve, this.options.renewMs).unref()),
			]);
		await atMost(this.round);
		const held = this.held;
		this.stepDown("the node is stopping");
		if (held === null) return;
		await atMost(
			Promise.resolve(
				this.options.db
					.update(controlLeases)
					.set({ expiresAt: sql`now()` })
					.where(this.mine(held.epoch)),
			).catch((err: unknown) =>
				this.options.warn?.(`Could not hand the lease back: ${(err as Error).message}`),
			),
		);
	}

	/** One round now: renew (holder) or try to take the lease (others). For tests and `start`. */
	tick(): Promise<void> {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		this.round = this.round.then(() => this.once()).finally(() => this.schedule());
		return this.round;
	}

	/** Who holds the lease now, as the database has it (null before anyone took it). */
	async holderNow(): Promise<LeaseHolder | null> {
		const [row] = await this.options.db
			.select({
				nodeID: controlLeases.nodeId,
				epoch: controlLeases.epoch,
				live: sql<boolean>`${controlLeases.expiresAt} > now()`,
				acquiredAt: controlLeases.acquiredAt,
				expiresAt: controlLeases.expiresAt,
			})
			.from(controlLeases)
			.where(eq(controlLeases.name, this.options.name));
		if (!row) return null;
		return {
			nodeID: row.nodeID,
			epoch: Number(row.epoch),
			live: row.live,
			acquiredAt: new Date(row.acquiredAt).toISOString(),
			expiresAt: new Date(row.expiresAt).toISOString(),
		};
	}

	/**
	 * Runs `write` as the leader: in a transaction that first reads the lease row FOR SHARE with
	 * this node's epoch and an expiry to come. Refused with LeaseLostError (and the node steps
	 * down) when this node does not lead, or the database says its lease is over.
	 */
	async write<T>(write: (db: Db) => PromiseLike<T>): Promise<T> {
		const epoch = this.currentEpoch();
		if (epoch === null)
			throw new LeaseLostError(this.options.name, null, "this node does not lead");
		return this.options.db.transaction(async tx => {
			const rows = await tx
				.select({ epoch: controlLeases.epoch })
				.from(controlLeases)
				.where(and(this.mine(epoch), gt(controlLeases.expiresAt, sql`now()`)))
				.for("share");
			if (rows.length === 0) {
				const reason = "the database says its lease expired or another node holds it";
				this.stepDown(reason, epoch);
				throw new LeaseLostError(this.options.name, epoch, reason);
			}
			return write(tx as unknown as Db);
		});
	}

	/** Refused with LeaseLostError unless the database says this node's lease is in force. */
	async check(): Promise<void> {
		await this.write(async () => undefined);
	}

	private mine(epoch: number) {
		return and(
			eq(controlLeases.name, this.options.name),
			eq(controlLeases.holder, this.holder),
			eq(controlLeases.epoch, epoch),
		);
	}

	private schedule(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		if (!this.running) return;
		this.timer = setTimeout(() => void this.tick(), this.options.renewMs);
		this.timer.unref();
	}

	private async once(): Promise<void> {
		if (this.stopped) return;
		const sentAt = this.now();
		try {
			const epoch = this.currentEpoch();
			const renewed = epoch !== null ? await this.renew(epoch) : await this.acquire();
			if (this.stopped) return;
			if (renewed === null) {
				if (epoch !== null)
					this.stepDown("its lease expired or another node holds it", epoch);
				return;
			}
			this.hold(renewed, sentAt + this.options.ttlMs);
		} catch (err) {
			// The belief runs out on its own at `until`: no round can extend it now.
			this.options.warn?.(`The leadership lease round failed: ${(err as Error).message}`);
		}
	}

	/** Extends this holder's lease if it is still in force; its epoch, or null. */
	private async renew(epoch: number): Promise<number | null> {
		const rows = await this.options.db
			.update(controlLeases)
			.set({ expiresAt: sql`now() + ${this.ttlInterval()}::interval` })
			.where(and(this.mine(epoch), gt(controlLeases.expiresAt, sql`now()`)))
			.returning({ epoch: controlLeases.epoch });
		return rows.length === 1 ? Number(rows[0].epoch) : null;
	}

	/** Takes the lease if no one holds it or it expired, one epoch on; its epoch, or null. */
	private async acquire(): Promise<number | null> {
		const expires = sql`now() + ${this.ttlInterval()}::interval`;
		const rows = await this.options.db
			.insert(controlLeases)
			.values({
				name: this.options.name,
				holder: this.holder,
				nodeId: this.options.nodeID,
				epoch: 1,
				acquiredAt: sql`now()`,
				expiresAt: expires,
			})
			.onConflictDoUpdate({
				target: controlLeases.name,
				set: {
					holder: this.holder,
					nodeId: this.options.nodeID,
					epoch: sql`${controlLeases.epoch} + 1`,
					acquiredAt: sql`now()`,
					expiresAt: expires,
				},
				setWhere: sql`${controlLeases.expiresAt} <= now()`,
			})
			.returning({ epoch: controlLeases.epoch });
		return rows.length === 1 ? Number(rows[0].epoch) : null;
	}

	private ttlInterval(): string {
		return `${Math.round(this.options.ttlMs)} milliseconds`;
	}

	private hold(epoch: number, until: number): void {
		const taken = this.held?.epoch !== epoch;
		this.held = { epoch, until };
		if (this.deadline) clearTimeout(this.deadline);
		// Says so the moment the belief runs out, not at the next use.
		this.deadline = setTimeout(() => this.currentEpoch(), Math.max(0, until - this.now()) + 1);
		this.deadline.unref();
		if (taken) this.changed(true, epoch, "it took the lease");
	}

	private stepDown(reason: string, epoch: number | null = this.held?.epoch ?? null): void {
		if (this.held === null || (epoch !== null && this.held.epoch !== epoch)) return;
		this.held = null;
		if (this.deadline) clearTimeout(this.deadline);
		this.deadline = null;
		this.changed(false, epoch, reason);
	}

	private changed(leading: boolean, epoch: number | null, reason: string): void {
		this.options.onChange?.(leading, epoch, reason);
		for (const listener of this.listeners) listener(leading, epoch, reason);
	}
}
