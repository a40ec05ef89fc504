/**
 * The lists added with deployments and training page as the registry's do (`limit`, then the
 * previous page's `nextCursor`), on PGlite and PostgreSQL: every item once, in order, and only
 * the tenant's own.
 */
import { AccountsStore } from "../../lib/accounts/accounts-store";
import type { Scope } from "../../lib/accounts/access";
import type { Page } from "../../lib/registry/registry-scope";
import { DatasetStore } from "../../lib/registry/dataset-store";
import { JobStore } from "../../lib/scheduler/job-store";
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
});
