/** The usage and quota stores on PGlite and on the real PostgreSQL server. */
import { randomUUID } from "node:crypto";
import { AccountsStore } from "../../lib/accounts/accounts-store";
import { zeroCounts } from "../../lib/metering/usage-counts";
import { UsageMeter } from "../../lib/metering/usage-meter";
import { UsageStore } from "../../lib/metering/usage-store";
import { QuotaStore } from "../../lib/quotas/quota-store";
import { describeOnEachEngine } from "../support/databases";

describeOnEachEngine("usage and quota stores", database => {
	let usage: UsageStore;
	let tenant: string;
	const from = new Date("2026-01-01T00:00:00Z");
	const to = new Date("2026-01-02T00:00:00Z");

	beforeAll(async () => {
		const { db } = database();
		usage = new UsageStore(db);
		const boot = await new AccountsStore(db).bootstrap(null);
		tenant = boot!.tenant.id;
	});

	it("applies a flush once: the same key again (a retried flush) adds nothing", async () => {
		let now = Date.parse("2026-01-01T10:20:00Z");
		const meter = new UsageMeter({ node: "w1/predictor", now: () => now });
		for (let i = 0; i < 5; i++)
			meter.prediction({
				tenant,
				model: "mlp",
				version: "1.0.0",
				rows: 2,
				failed: i === 0,
				ms: 1,
				gpu: false,
				bytesIn: 32,
				bytesOut: 16,
			});
		const [first] = meter.takeFlush();
		expect(await usage.applyFlush(first)).toBe(true);
		// The answer was lost on the way back: the node sends the same record again.
		expect(await usage.applyFlush(first)).toBe(false);
		now += 60_000;
		meter.prediction({
			tenant,
			model: "mlp",
			version: "1.0.0",
			rows: 1,
			failed: false,
			ms: 1,
			gpu: true,
			bytesIn: 16,
			bytesOut: 8,
		});
		const pending = meter.takeFlush();
		expect(pending.map(r => r.seq)).toEqual([1, 2]);
		for (const record of pending) await usage.applyFlush(record);
		expect(await usage.hourly({ tenant, from, to })).toEqual([
			{
				tenant,
				model: "mlp",
				version: "1.0.0",
				hour: "2026-01-01T10:00:00.000Z",
				...zeroCounts(),
				requests: 6,
				rows: 9,
				errors: 1,
				cpuMs: 5,
				gpuMs: 1,
				bytesIn: 176,
				bytesOut: 88,
			},
		]);
	});

	it("keeps another incarnation's same sequence number apart (a restarted node)", async () => {
		const rows = [
			{
				tenant,
				model: "other",
				version: "",
				hour: "2026-01-01T11:00:00.000Z",
				...zeroCounts(),
				trainingCpuS: 7,
			},
		];
		expect(await usage.applyFlush({ node: "w1/trainer", incarnation: "a", seq: 1, rows })).toBe(
			true,
		);
		expect(await usage.applyFlush({ node: "w1/trainer", incarnation: "b", seq: 1, rows })).toBe(
			true,
		);
		const [row] = await usage.hourly({ tenant, from, to, model: "other" });
		expect(row.trainingCpuS).toBe(14);
		// Rows of a tenant id that is no uuid are skipped, the rest applied.
		expect(
			await usage.applyFlush({
				node: "w1/trainer",
				incarnation: "c",
				seq: 1,
				rows: [{ ...rows[0], tenant: "not-a-uuid" }],
			}),
		).toBe(true);
	});

	it("keeps the day's largest stored bytes per tenant", async () => {
		const day = new Date("2026-01-01T00:00:00Z");
		await usage.recordStorage(day, [
			{ tenant, artifactsBytes: 10, datasetsBytes: 5, capturesBytes: 0 },
		]);
		await usage.recordStorage(day, [
			{ tenant, artifactsBytes: 4, datasetsBytes: 9, capturesBytes: 0 },
		]);
		expect(await usage.storage({ tenant, from, to })).toEqual([
			{
				tenant,
				day: day.toISOString(),
				artifactsBytes: 10,
				datasetsBytes: 9,
				capturesBytes: 0,
			},
		]);
		expect(await usage.storage({ tenant: randomUUID(), from, to })).toEqual([]);
	});

	it("forgets old flush keys", async () => {
		await usage.pruneFlushes(new Date(Date.now() + 1000));
		const rows = [
			{
				tenant,
				model: "pruned",
				version: "",
				hour: "2026-01-01T12:00:00.000Z",
				...zeroCounts(),
				requests: 1,
			},
		];
		expect(await usage.applyFlush({ node: "w1/trainer", incarnation: "a", seq: 1, rows })).toBe(
			true,
		);
	});

	it("stores a tenant's quotas, with an audit row, and answers unlimited for none", async () => {
		const quotas = new QuotaStore(database().db);
		expect(await quotas.get(tenant)).toEqual({ tenant, quotas: {}, updatedAt: null });
		await quotas.set(tenant, { models: 2, predictionsPerMinute: 100 }, null);
		expect((await quotas.get(tenant)).quotas).toEqual({ models: 2, predictionsPerMinute: 100 });
		await quotas.set(tenant, { versions: 1 }, null);
		expect((await quotas.get(tenant)).quotas).toEqual({ versions: 1 });
	});
});
