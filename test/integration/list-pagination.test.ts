/**
 * The lists added with deployments and training page as the registry's do (`limit`, then the
 * previous page's `nextCursor`), on PGlite and PostgreSQL: every item once, in order, and only
 * the tenant's own — the runs list sorted by the database too, by creation or by a metric.
 */
import { AccountsStore } from "../../lib/accounts/accounts-store";
import type { Scope } from "../../lib/accounts/access";
import type { Page } from "../../lib/registry/registry-scope";
import { DatasetStore } from "../../lib/registry/dataset-store";
import { eq } from "drizzle-orm";
import { trainingJobs } from "../../lib/db/schema";
import { JobStore, type JobView } from "../../lib/scheduler/job-store";
import { runSortOf, type RunOrder } from "../../lib/scheduler/run-order";
import { describeOnEachEngine } from "../support/databases";

async function everyPage<T>(fetch: (cursor?: string) => Promise<Page<T>>): Promise<T[][]> {
	const pages: T[][] = [];
	let cursor: string | undefined;
	do {
		const page = await fetch(cursor);
		pages.push(page.items);
		cursor = page.nextCursor ?? undefined;
	} while (cursor !== undefined);
	return pages;
}

describeOnEachEngine("list pagination", database => {
	let scope: Scope;
	let other: Scope;
	let datasets: DatasetStore;
	let jobs: JobStore;

	beforeAll(async () => {
		const { db } = database();
		const accounts = new AccountsStore(db);
		const boot = await accounts.bootstrap(null);
		const admin = await accounts.authenticate(boot!.key);
		const adminScope: Scope = { tenantId: admin.tenant, role: admin.role, keyId: admin.keyId };
		const a = await accounts.createTenant(adminScope, { name: "pages-a" });
		const b = await accounts.createTenant(adminScope, { name: "pages-b" });
		scope = { tenantId: a.tenant.id, role: "owner", keyId: a.ownerKey.id };
		other = { tenantId: b.tenant.id, role: "owner", keyId: b.ownerKey.id };
		datasets = new DatasetStore(db);
		jobs = new JobStore(db);
		const record = (name: string) => ({
			name,
			sha256: "cd".repeat(32),
			size: 1,
			format: "csv",
			labelColumn: null,
			rows: 1,
			report: {},
		});
		for (const name of ["b", "a", "b", "c", "b"]) await datasets.create(scope, record(name));
		await datasets.create(other, record("a"));
	});

	it("pages datasets by name, newest version first, each once", async () => {
		const pages = await everyPage(cursor => datasets.list(scope, { limit: 2, cursor }));
		expect(pages.map(p => p.map(d => d.ref))).toEqual([
			["a@1", "b@3"],
			["b@2", "b@1"],
			["c@1"],
		]);
		const versions = await datasets.list(scope, { name: "b", limit: 50 });
		expect(versions.items.map(d => d.version)).toEqual([3, 2, 1]);
		expect(versions.nextCursor).toBeNull();
	});

	it("pages training jobs newest first, with the state filter", async () => {
		const dataset = (await datasets.list(scope, { name: "a", limit: 1 })).items[0];
		const ids: string[] = [];
		for (let i = 0; i < 5; i++) {
			const job = await jobs.enqueue(scope, {
				model: "m",
				datasetId: dataset.id,
				spec: {},
				priority: 0,
				gpu: false,
				deadlineAt: null,
			});
			ids.push(job.id);
		}
		await jobs.cancel(scope, ids[1]);
		const pages = await everyPage(cursor => jobs.list(scope, { limit: 2, cursor }));
		expect(pages.flat().map(j => j.id)).toEqual([...ids].reverse());
		expect(pages.map(p => p.length)).toEqual([2, 2, 1]);
		const cancelled = await jobs.list(scope, { state: "cancelled", limit: 50 });
		expect(cancelled.items.map(j => j.id)).toEqual([ids[1]]);
		expect((await jobs.list(other, { limit: 50 })).items).toEqual([]);
	});

	it("pages runs sorted by the database, by creation and by a metric either way, each once", async () => {
		const { db } = database();
		const dataset = (await datasets.list(scope, { name: "c", limit: 1 })).items[0];
		// 30 runs: val_accuracy with ties, some without it, and a test split's accuracy on some.
		const created: string[] = [];
		const value = new Map<string, { val?: number; test?: number }>();
		for (let i = 0; i < 30; i++) {
			for (const owner of [scope, other]) {
				const job = await jobs.enqueue(owner, {
					model: "runs-m",
					datasetId: dataset.id,
					spec: { i },
					priority: 0,
					gpu: false,
					deadlineAt: null,
					tags: ["sorted"],
				});
				if (owner !== scope) continue;
				created.push(job.id);
				const val = i % 7 === 3 ? undefined : [0.5, 0.25, 0.75, 0.5, 1][i % 5] - i / 1000;
				const tied = i % 4 === 0 ? 0.625 : val; // every fourth the same value
				const test = i % 3 === 0 ? i / 100 : undefined;
				value.set(job.id, { val: tied, test });
				const epoch = (metrics: Record<string, number>) => ({
					epoch: 1,
					metrics,
					samplesPerSecond: 1,
					etaMs: 0,
					nodeID: "n",
					at: "2026-01-01T00:00:00Z",
				});
				await db
					.update(trainingJobs)
					.set({
						progress:
							tied === undefined
								? [epoch({ loss: 1 })]
								: [epoch({ val_accuracy: 0 }), epoch({ val_accuracy: tied })],
						result: test === undefined ? null : { metrics: { accuracy: test } },
					})
					.where(eq(trainingJobs.id, job.id));
			}
		}
		const newestFirst = [...created].reverse();
		/** The order the list promises: by the value, those without it last, ties newest first. */
		const expected = (key: (id: string) => number | undefined, direction: "asc" | "desc") =>
			[...newestFirst].sort((a, b) => {
				const [x, y] = [key(a), key(b)];
				if (x === undefined || y === undefined)
					return (
						(x === undefined ? 1 : 0) - (y === undefined ? 1 : 0) ||
						newestFirst.indexOf(a) - newestFirst.indexOf(b)
					);
				return (
					(direction === "desc" ? y - x : x - y) ||
					newestFirst.indexOf(a) - newestFirst.indexOf(b)
				);
			});
		const pagesOf = (order: RunOrder) =>
			everyPage<JobView>(cursor =>
				jobs.runs(scope, { tag: "sorted" }, runSortOf(order), { limit: 4, cursor }),
			);
		const cases: Array<[RunOrder, string[]]> = [
			[{}, newestFirst],
			[{ order: "asc" }, created],
			[{ sort: "metric:val_accuracy" }, expected(id => value.get(id)!.val, "desc")],
			[
				{ sort: "metric:val_accuracy", order: "asc" },
				expected(id => value.get(id)!.val, "asc"),
			],
			[{ sort: "metric:test_accuracy" }, expected(id => value.get(id)!.test, "desc")],
			[{ sort: "metric:nowhere", order: "asc" }, newestFirst],
		];
		for (const [order, ids] of cases) {
			const pages = await pagesOf(order);
			expect({ order, ids: pages.flat().map(job => job.id) }).toEqual({ order, ids });
			expect(pages.map(page => page.length)).toEqual([4, 4, 4, 4, 4, 4, 4, 2]);
		}
		// The tenant's own only; filters still apply.
		const others = await jobs.runs(other, { tag: "sorted" }, runSortOf({}), { limit: 100 });
		expect(others.items.every(job => !created.includes(job.id))).toBe(true);
		const none = await jobs.runs(scope, { model: "nope" }, runSortOf({}), { limit: 5 });
		expect(none).toEqual({ items: [], nextCursor: null });
	});

	it("answers a runs cursor of another sort or order, or one it never handed out, with 400", async () => {
		const metric = runSortOf({ sort: "metric:val_accuracy" });
		const first = await jobs.runs(scope, { tag: "sorted" }, metric, { limit: 2 });
		const cursor = first.nextCursor!;
		await expect(
			jobs.runs(scope, { tag: "sorted" }, metric, { limit: 2, cursor }),
		).resolves.toMatchObject({ items: [expect.anything(), expect.anything()] });
		for (const order of [
			{},
			{ sort: "metric:val_accuracy", order: "asc" as const },
			{ sort: "metric:val_loss" },
		])
			await expect(
				jobs.runs(scope, {}, runSortOf(order), { limit: 2, cursor }),
			).rejects.toMatchObject({ type: "INVALID_CURSOR" });
		const forged = (text: string) => Buffer.from(text, "utf8").toString("base64url");
		for (const bad of [
			"abc",
			"x==",
			forged("metric:val_accuracy\u0000desc\u0000NaN\u00001"),
			forged("metric:val_accuracy\u0000desc\u00001e400\u00001"),
			forged("metric:val_accuracy\u0000desc\u00000.50\u00001"),
			forged("metric:val_accuracy\u0000desc\u00000.5\u0000-1"),
			forged("metric:val_accuracy\u0000desc\u00000.5\u00009999999999999999"),
			forged("metric:val_accuracy\u0000desc\u0000'; DROP TABLE x\u00001"),
			forged("metric:val_accuracy\u0000sideways\u00000.5\u00001"),
			forged("createdAt\u0000desc\u00000.5\u00001"),
		])
			await expect(
				jobs.runs(scope, {}, metric, { limit: 2, cursor: bad }),
			).rejects.toMatchObject({ type: "INVALID_CURSOR" });
		// A forged position that is well formed is only a position: a page, never an error.
		const anywhere = forged("metric:val_accuracy\u0000desc\u0000-1.5e-7\u00001");
		await expect(
			jobs.runs(scope, {}, metric, { limit: 2, cursor: anywhere }),
		).resolves.toBeDefined();
	});
});
