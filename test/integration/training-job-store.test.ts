/**
 * The persisted training queue (JobStore) on PGlite and on the real PostgreSQL server: dispatch
 * order, state changes that happen once however they race, retries up to MAX_JOB_ATTEMPTS, and
 * the job's record of its runs (progress with nodes, the latest checkpoint).
 */
import { AccountsStore } from "../../lib/accounts/accounts-store";
import type { Scope } from "../../lib/accounts/access";
import { DatasetStore } from "../../lib/registry/dataset-store";
import { JobStore, MAX_JOB_ATTEMPTS, type NewJob } from "../../lib/scheduler/job-store";
import { describeOnEachEngine } from "../support/databases";

describeOnEachEngine("JobStore", database => {
	let jobs: JobStore;
	let scope: Scope;
	let other: Scope;
	let datasetId: string;

	const newJob = (over: Partial<NewJob> = {}): NewJob => ({
		model: "iris",
		datasetId,
		spec: { seed: 1 },
		priority: 0,
		gpu: false,
		deadlineAt: null,
		...over,
	});

	/** Active jobs' ids, of the ones named, in dispatch order. */
	async function order(ids: string[]): Promise<string[]> {
		return (await jobs.active()).map(j => j.id).filter(id => ids.includes(id));
	}

	beforeAll(async () => {
		const { db } = database();
		jobs = new JobStore(db);
		const accounts = new AccountsStore(db);
		const boot = await accounts.bootstrap(null);
		const admin = await accounts.authenticate(boot!.key);
		const adminScope: Scope = { tenantId: admin.tenant, role: admin.role, keyId: admin.keyId };
		const a = await accounts.createTenant(adminScope, { name: "jobs-a" });
		const b = await accounts.createTenant(adminScope, { name: "jobs-b" });
		scope = { tenantId: a.tenant.id, role: "owner", keyId: a.ownerKey.id };
		other = { tenantId: b.tenant.id, role: "owner", keyId: b.ownerKey.id };
		const dataset = await new DatasetStore(db).create(scope, {
			name: "iris",
			sha256: "ab".repeat(32),
			size: 10,
			format: "csv",
			labelColumn: "label",
			rows: 150,
			report: {},
		});
		datasetId = dataset.id;
	});

	it("orders the queue by priority, then submission, across tenants", async () => {
		const low1 = await jobs.enqueue(scope, newJob());
		const low2 = await jobs.enqueue(other, newJob());
		const high = await jobs.enqueue(scope, newJob({ priority: 5 }));
		const negative = await jobs.enqueue(scope, newJob({ priority: -1 }));
		const ids = [low1.id, low2.id, high.id, negative.id];
		expect(await order(ids)).toEqual([high.id, low1.id, low2.id, negative.id]);
		for (const id of ids) await jobs.cancel(id === low2.id ? other : scope, id);
		expect(await order(ids)).toEqual([]);
	});

	it("claims a queued job once, and counts the attempt", async () => {
		const job = await jobs.enqueue(scope, newJob());
		await jobs.setWaiting(job.id, "every trainer is busy (1 slot in use)");
		expect((await jobs.get(scope, job.id)).waitingReason).toMatch(/busy/);
		const claims = await Promise.all([jobs.claim(job.id, "w1"), jobs.claim(job.id, "w2")]);
		expect(claims.filter(Boolean)).toHaveLength(1);
		const view = await jobs.get(scope, job.id);
		expect(view).toMatchObject({ state: "running", attempts: 1, waitingReason: null });
		expect(["w1", "w2"]).toContain(view.nodeID);
		expect(view.startedAt).not.toBeNull();
		// Another tenant does not see it.
		await expect(jobs.get(other, job.id)).rejects.toMatchObject({ code: 404 });
		await jobs.cancel(scope, job.id);
	});

	it(`requeues a job whose run failed, and fails it for good after ${MAX_JOB_ATTEMPTS} failed runs`, async () => {
		const job = await jobs.enqueue(scope, newJob());
		for (let i = 1; i <= MAX_JOB_ATTEMPTS; i++) {
			expect(await jobs.claim(job.id, `w${i}`)).toBe(true);
			// A report about another node's run changes nothing.
			expect(await jobs.runFailed(job.id, "elsewhere", "stale")).toBeNull();
			const state = await jobs.runFailed(job.id, `w${i}`, `trainer node w${i} was lost`);
			expect(state).toBe(i < MAX_JOB_ATTEMPTS ? "queued" : "failed");
		}
		const view = await jobs.get(scope, job.id);
		expect(view.state).toBe("failed");
		expect(view.failures.map(f => f.nodeID)).toEqual(["w1", "w2", "w3"]);
		expect(view.error).toBe(
			"w1: trainer node w1 was lost; w2: trainer node w2 was lost; w3: trainer node w3 was lost",
		);
		expect(await jobs.runFailed(job.id, "w3", "again")).toBeNull();
	});

	it("runs a data-parallel job on its gang: fails from any of its nodes, on one worker fewer without the lost one", async () => {
		const job = await jobs.enqueue(scope, newJob({ workers: 3 }));
		expect(job).toMatchObject({ workers: 3, gang: [] });
		expect(await jobs.claim(job.id, "w1", ["w1", "w2", "w3"])).toBe(true);
		expect((await jobs.active()).find(j => j.id === job.id)).toMatchObject({
			nodeID: "w1",
			workers: 3,
			gang: ["w1", "w2", "w3"],
		});
		// Not a gang node, or a late report of another attempt: nothing changes.
		expect(await jobs.runFailed(job.id, "w9", "lost", false, { lostNodeID: "w9" })).toBeNull();
		expect(await jobs.runFailed(job.id, "w2", "late", false, { attempt: 7 })).toBeNull();
		// Rank 1's node reports rank 2 lost.
		expect(
			await jobs.runFailed(job.id, "w2", "rank 2 sent nothing", false, {
				lostNodeID: "w3",
				attempt: 1,
			}),
		).toBe("queued");
		const requeued = await jobs.get(scope, job.id);
		expect(requeued).toMatchObject({ state: "queued", workers: 2, gang: [], nodeID: null });
		expect(requeued.failures).toEqual([
			expect.objectContaining({
				nodeID: "w2",
				reason: "rank 2 sent nothing",
				lostNodeID: "w3",
			}),
		]);
		// A failure that loses no node keeps the gang's size.
		expect(await jobs.claim(job.id, "w1", ["w1", "w2"])).toBe(true);
		expect(await jobs.runFailed(job.id, "w1", "out of memory")).toBe("queued");
		expect((await jobs.get(scope, job.id)).workers).toBe(2);
		expect(await jobs.claim(job.id, "w1", ["w1", "w2"])).toBe(true);
		expect(await jobs.runFailed(job.id, "w1", "lost", false, { lostNodeID: "w2" })).toBe(
			"failed",
		);
	});

	it("fails a job at once on a final failure", async () => {
		const job = await jobs.enqueue(scope, newJob());
		await jobs.claim(job.id, "w1");
		expect(await jobs.runFailed(job.id, "w1", "labelColumn: bad", true)).toBe("failed");
		expect(await jobs.get(scope, job.id)).toMatchObject({
			attempts: 1,
			error: "w1: labelColumn: bad",
		});
	});

	it("keeps the progress of every run with its node, and the newest checkpoint", async () => {
		const job = await jobs.enqueue(scope, newJob());
		await jobs.claim(job.id, "w1");
		const progress = (epoch: number, nodeID: string) => ({
			epoch,
			metrics: { loss: 1 / epoch },
			samplesPerSecond: 100,
			etaMs: 10,
			nodeID,
			at: new Date().toISOString(),
		});
		for (const epoch of [1, 2, 3]) await jobs.recordProgress(job.id, progress(epoch, "w1"));
		// Checkpoints stored at once may be reported out of order: the newest one stays.
		await jobs.recordCheckpoint(job.id, { sha256: "c4".repeat(32), epoch: 4, size: 1 });
		await jobs.recordCheckpoint(job.id, { sha256: "c2".repeat(32), epoch: 2, size: 1 });
		expect((await jobs.get(scope, job.id)).checkpoint).toMatchObject({ epoch: 4 });

		await jobs.runFailed(job.id, "w1", "trainer node w1 was lost");
		await jobs.claim(job.id, "w2");
		for (const epoch of [3, 4]) await jobs.recordProgress(job.id, progress(epoch, "w2"));
		await jobs.recordCheckpoint(job.id, { sha256: "c6".repeat(32), epoch: 6, size: 1 });
		const view = await jobs.get(scope, job.id);
		expect(view.progress.map(p => [p.nodeID, p.epoch])).toEqual([
			["w1", 1],
			["w1", 2],
			["w1", 3],
			["w2", 3],
			["w2", 4],
		]);
		expect(view).toMatchObject({ epoch: 4, attempts: 2, checkpoint: { epoch: 6 } });
		// Artifact GC keeps the checkpoint's blob (the scheduler's referencedArtifacts).
		expect(await jobs.referencedArtifacts()).toContain("c6".repeat(32));

		// A late completion of attempt 1 (its report delivered after a control outage) is ignored.
		expect(await jobs.complete(job.id, { version: "0.9.0" }, { attempt: 1 })).toBe(false);
		expect(await jobs.complete(job.id, { version: "0.1.0" }, { attempt: 2 })).toBe(true);
		// The same report again (retried after its answer was lost): recorded once.
		expect(await jobs.complete(job.id, { version: "0.1.0" }, { attempt: 2 })).toBe(false);
		expect(await jobs.complete(job.id, { version: "0.2.0" })).toBe(false);
		expect((await jobs.get(scope, job.id)).result).toEqual({ version: "0.1.0" });
	});

	it("completes with the last epoch's progress when its own report was lost, once", async () => {
		const job = await jobs.enqueue(scope, newJob());
		await jobs.claim(job.id, "w1");
		const progress = (epoch: number) => ({
			epoch,
			metrics: { val_accuracy: epoch / 10 },
			samplesPerSecond: 0,
			etaMs: 0,
			nodeID: "w1",
			at: new Date().toISOString(),
		});
		await jobs.recordProgress(job.id, progress(2));
		// Epochs 3–5 trained while no control node listened: only the completion arrives.
		const checkpoint = { sha256: "c5".repeat(32), epoch: 5, size: 1 };
		const report = { attempt: 1, lastEpoch: progress(5), checkpoint };
		expect(await jobs.complete(job.id, { version: null }, report)).toBe(true);
		expect(await jobs.complete(job.id, { version: null }, report)).toBe(false);
		const view = await jobs.get(scope, job.id);
		expect(view.epoch).toBe(5);
		expect(view.checkpoint).toEqual(checkpoint);
		expect(view.progress.map(p => [p.epoch, p.metrics.val_accuracy])).toEqual([
			[2, 0.2],
			[5, 0.5],
		]);

		// Its progress arrived: the last epoch is not added again.
		const heard = await jobs.enqueue(scope, newJob());
		await jobs.claim(heard.id, "w1");
		await jobs.recordProgress(heard.id, progress(5));
		await jobs.recordCheckpoint(heard.id, { sha256: "c6".repeat(32), epoch: 6, size: 1 });
		expect(
			await jobs.complete(
				heard.id,
				{ version: null },
				{ lastEpoch: progress(5), checkpoint },
			),
		).toBe(true);
		const heardView = await jobs.get(scope, heard.id);
		expect(heardView.progress).toHaveLength(1);
		expect(heardView.checkpoint).toMatchObject({ epoch: 6 });
	});

	it("cancels queued and running jobs only, naming the node to stop", async () => {
		const queued = await jobs.enqueue(scope, newJob());
		expect((await jobs.cancel(scope, queued.id)).stopOn).toBeNull();
		const running = await jobs.enqueue(scope, newJob());
		await jobs.claim(running.id, "w1");
		const cancelled = await jobs.cancel(scope, running.id);
		expect(cancelled).toMatchObject({ stopOn: "w1", job: { state: "cancelled" } });
		await expect(jobs.cancel(scope, running.id)).rejects.toMatchObject({ code: 409 });
		expect(await jobs.claim(running.id, "w2")).toBe(false);
		expect(await jobs.expire(running.id, "late")).toBe(false);
	});
});
