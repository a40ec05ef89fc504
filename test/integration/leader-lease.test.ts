/**
 * The control plane's leadership lease on both engines: one holder at a time, takeover only
 * after expiry and one epoch on, a paused holder's belief running out by its own clock, and
 * fenced writes refused once the lease is another node's (lib/scheduler/leader-lease.ts).
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { installationSecrets } from "../../lib/db/schema";
import { LeaseLostError } from "../../lib/errors";
import { LeaderLease, type LeaderLeaseOptions } from "../../lib/scheduler/leader-lease";
import { describeOnEachEngine } from "../support/databases";

/** Long enough that a loaded machine's slow query does not decide a test, short enough to wait out. */
const TTL_MS = 3000;
/** Past a lease's expiry, with margin. */
const EXPIRY_MS = TTL_MS + 400;

describeOnEachEngine("the leadership lease", database => {
	const changes: string[] = [];
	/** A lease on the shared database with a clock the test moves; no loop (rounds by hand). */
	function node(
		name: string,
		lease: string,
		clock: { t: number },
		options: Partial<LeaderLeaseOptions> = {},
	): LeaderLease {
		return new LeaderLease({
			db: database().db,
			name: lease,
			nodeID: name,
			instanceID: randomUUID(),
			ttlMs: TTL_MS,
			renewMs: 60_000,
			now: () => clock.t,
			onChange: (leading, epoch, reason) =>
				changes.push(`${name} ${leading ? "leads" : "steps down"} @${epoch}: ${reason}`),
			...options,
		});
	}
	const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

	beforeEach(() => changes.splice(0));

	it("has one holder; another takes over only after expiry, with the next epoch", async () => {
		const lease = `l-${randomUUID()}`;
		const clock = { t: 0 };
		const a = node("a", lease, clock);
		const b = node("b", lease, clock);
		await a.tick();
		await b.tick();
		expect([a.currentEpoch(), b.currentEpoch()]).toEqual([1, null]);
		expect(await b.holderNow()).toMatchObject({ nodeID: "a", epoch: 1, live: true });

		// a renews while its lease is in force: b still cannot take it. The sleeps are a quarter of
		// the lease each, so a loaded machine's late timers and slow queries stay inside it.
		await sleep(TTL_MS / 4);
		await a.tick();
		await sleep(TTL_MS / 4);
		await b.tick();
		expect(b.isLeader()).toBe(false);
		expect(a.currentEpoch()).toBe(1);

		// a stops renewing (dead): once the database's expiry passes, b leads under epoch 2.
		await sleep(EXPIRY_MS);
		await b.tick();
		expect(b.currentEpoch()).toBe(2);
		expect(await a.holderNow()).toMatchObject({ nodeID: "b", epoch: 2, live: true });
		expect(changes).toEqual(["a leads @1: it took the lease", "b leads @2: it took the lease"]);
	});

	it("stops believing it leads once its own clock passes the lease, before any round", async () => {
		const lease = `l-${randomUUID()}`;
		const clock = { t: 0 };
		const a = node("a", lease, clock);
		await a.tick();
		expect(a.isLeader()).toBe(true);
		// A pause (SIGSTOP) longer than the lease: the first thing a resumed node asks says no.
		clock.t += TTL_MS;
		expect(a.isLeader()).toBe(false);
		expect(changes.at(-1)).toBe("a steps down @1: its lease ran out before it could renew it");
		await expect(a.write(async () => "written")).rejects.toBeInstanceOf(LeaseLostError);
	});

	it("refuses a stale leader's fenced write and leaves the data as the new leader wrote it", async () => {
		const lease = `l-${randomUUID()}`;
		const row = `fence-${randomUUID()}`;
		const db = database().db;
		// a's own clock stands still (it believes it leads); the database's runs on.
		const a = node("a", lease, { t: 0 });
		const b = node("b", lease, { t: 0 });
		await a.tick();
		await a.write(tx => tx.insert(installationSecrets).values({ name: row, value: "a@1" }));
		await sleep(EXPIRY_MS);
		await b.tick();
		expect(b.currentEpoch()).toBe(2);
		await b.write(tx =>
			tx
				.update(installationSecrets)
				.set({ value: "b@2" })
				.where(eq(installationSecrets.name, row)),
		);

		expect(a.isLeader()).toBe(true);
		const stale = a.write(tx =>
			tx
				.update(installationSecrets)
				.set({ value: "a@1 again" })
				.where(eq(installationSecrets.name, row)),
		);
		await expect(stale).rejects.toMatchObject({ type: "LEASE_LOST", data: { epoch: 1 } });
		expect(a.isLeader()).toBe(false);
		const [stored] = await db
			.select()
			.from(installationSecrets)
			.where(eq(installationSecrets.name, row));
		expect(stored.value).toBe("b@2");
		expect(changes.at(-1)).toMatch(/^a steps down @1: the database says/);
	});

	it("hands the lease back on stop, so another node leads at once", async () => {
		const lease = `l-${randomUUID()}`;
		const clock = { t: 0 };
		const a = node("a", lease, clock, { ttlMs: 60_000, renewMs: 60_000 });
		const b = node("b", lease, clock, { ttlMs: 60_000, renewMs: 60_000 });
		await a.start();
		expect(a.isLeader()).toBe(true);
		await a.stop();
		await b.tick();
		expect(b.currentEpoch()).toBe(2);
		await b.stop();
	});

	it("keeps a restarted node (same node ID, new process) from reusing the old epoch", async () => {
		const lease = `l-${randomUUID()}`;
		const old = node("control", lease, { t: 0 });
		await old.tick();
		const restarted = node("control", lease, { t: 0 });
		await restarted.tick();
		expect(restarted.isLeader()).toBe(false);
		await sleep(EXPIRY_MS);
		await restarted.tick();
		expect(restarted.currentEpoch()).toBe(2);
		await expect(old.check()).rejects.toBeInstanceOf(LeaseLostError);
	});
});
