/**
 * The usage-meter mixin against a real usage store (PGlite): a flush whose answer is lost on
 * the way back is sent again under the same key and counted once; a flush that fails is kept
 * and sent at the next interval; a stopping service flushes what it still holds.
 */
import * as fs from "node:fs";
import { Errors, ServiceBroker, type Context } from "moleculer";
import { AccountsStore } from "../../lib/accounts/accounts-store";
import { openDatabase, type Database } from "../../lib/db/database";
import type { FlushRecord } from "../../lib/metering/usage-meter";
import { UsageStore } from "../../lib/metering/usage-store";
import { usageMeterMixin, type UsageMeterService } from "../../mixins/usage-meter.mixin";
import { waitFor } from "../support/wait";
import { seededDataDir } from "../support/pglite-template";

describe("usage-meter mixin", () => {
	let database: Database;
	let dataDir: string;
	let store: UsageStore;
	let tenant: string;
	let broker: ServiceBroker;
	/** What the fake accounts does with the next record: apply and answer, apply and lose the answer, or fail. */
	const plan: Array<"ok" | "lost-answer" | "fail" | "refuse"> = [];
	const received: FlushRecord[] = [];
	const from = new Date(Date.now() - 86_400_000);
	const to = new Date(Date.now() + 86_400_000);

	const requests = async () =>
		(await store.hourly({ tenant, from, to })).reduce((n, r) => n + r.requests, 0);
	const counter = () => broker.getLocalService("counter") as unknown as UsageMeterService;
	const count = (n: number) => {
		for (let i = 0; i < n; i++)
			counter().meter.prediction({
				tenant,
				model: "mlp",
				version: "1.0.0",
				rows: 1,
				failed: false,
				ms: 1,
				gpu: false,
				bytesIn: 4,
				bytesOut: 4,
			});
	};

	beforeAll(async () => {
		dataDir = await seededDataDir("mf-usage-flush-");
		database = await openDatabase({ databaseUrl: null, dataDir });
		store = new UsageStore(database.db);
		tenant = (await new AccountsStore(database.db).bootstrap(null))!.tenant.id;
		broker = new ServiceBroker({ logger: false });
		broker.createService({
			name: "accounts",
			actions: {
				"usage.record": async (ctx: Context<FlushRecord>) => {
					received.push(ctx.params);
					const next = plan.shift() ?? "ok";
					if (next === "fail") throw new Error("accounts unreachable");
					if (next === "refuse")
						throw new Errors.ValidationError("Parameters validation error!", "", []);
					const applied = await store.applyFlush(ctx.params);
					if (next === "lost-answer") throw new Error("the answer was lost");
					return { applied };
				},
			},
		});
		broker.createService({ name: "counter", mixins: [usageMeterMixin({ flushMs: 60_000 })] });
		await broker.start();
	});

	afterAll(async () => {
		await database?.close();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("sends a flush whose answer was lost again, under the same key, and counts it once", async () => {
		plan.push("lost-answer");
		count(3);
		await counter().flushUsage();
		expect(await requests()).toBe(3);
		count(2);
		await counter().flushUsage();
		// The first record went twice (same key), then the new one.
		expect(received.map(r => r.seq)).toEqual([1, 1, 2]);
		expect(received[1]).toEqual(received[0]);
		expect(await requests()).toBe(5);
	});

	it("keeps a failed flush and sends it, in order, with the next one", async () => {
		plan.push("fail");
		count(4);
		await counter().flushUsage();
		expect(await requests()).toBe(5);
		count(1);
		await counter().flushUsage();
		expect(received.slice(-3).map(r => r.seq)).toEqual([3, 3, 4]);
		expect(await requests()).toBe(10);
	});

	it("drops a record accounts refuses as invalid, instead of holding up the ones after it", async () => {
		plan.push("refuse");
		count(100);
		await counter().flushUsage();
		count(2);
		await counter().flushUsage();
		expect(received.slice(-2).map(r => r.seq)).toEqual([5, 6]);
		expect(await requests()).toBe(12);
	});

	it("flushes what it holds when the service stops", async () => {
		count(6);
		await broker.stop();
		await waitFor(
			"the last flush",
			async () => ((await requests()) === 18 ? true : undefined),
			5000,
			50,
		);
	});
});
