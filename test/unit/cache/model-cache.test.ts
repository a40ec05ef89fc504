import { ModelCache } from "../../../lib/cache/model-cache";
import type { ModelCacheHooks, ModelEvictedEvent } from "../../../lib/cache/model-cache-hooks";
import { InvalidModelFileError, ModelLoadError } from "../../../lib/errors";
import { FakeClock, settle } from "../batching/fake-clock";
import { FakeLoadedModel, deferred } from "./fake-loaded-model";

function cacheWith(budgetBytes: number, clock = new FakeClock(), hooks: ModelCacheHooks = {}) {
	return new ModelCache({ options: { budgetBytes }, clock, hooks });
}

const loaderOf = (key: string, bytes: number) => async () => new FakeLoadedModel(key, bytes);

describe("ModelCache", () => {
	it("loads a key once for concurrent first requests and leases the model to each", async () => {
		const cache = cacheWith(1000);
		const loading = deferred<FakeLoadedModel>();
		const loader = jest.fn(() => loading.promise);
		const leases = Promise.all([1, 2, 3].map(() => cache.acquire("iris:1", loader)));
		await settle();
		expect(cache.stats().loading).toBe(1);
		loading.resolve(new FakeLoadedModel("iris:1", 100));
		const [a, b, c] = await leases;
		expect(loader).toHaveBeenCalledTimes(1);
		expect(b.model).toBe(a.model);
		expect(c.model).toBe(a.model);
		expect(cache.stats()).toMatchObject({ hits: 0, misses: 3, loads: 1, loading: 0 });
		expect(cache.stats().entries[0].leases).toBe(3);
		[a, b, c].forEach(lease => lease.release());
		a.release();
		expect(cache.stats().entries[0].leases).toBe(0);
	});

	it("reports a load failure to every waiter, does not keep it, and retries after a backoff", async () => {
		const clock = new FakeClock();
		const failed: number[] = [];
		const cache = cacheWith(1000, clock, {
			loadFailed: e => failed.push(e.consecutiveFailures),
		});
		const loader = jest
			.fn<Promise<FakeLoadedModel>, []>()
			.mockRejectedValueOnce(new Error("file truncated"))
			.mockRejectedValueOnce(new InvalidModelFileError("onnx", "bad magic"))
			.mockResolvedValue(new FakeLoadedModel("iris:1", 100));

		const first = await Promise.allSettled([
			cache.acquire("iris:1", loader),
			cache.acquire("iris:1", loader),
		]);
		for (const result of first) {
			expect(result.status).toBe("rejected");
			const reason = (result as PromiseRejectedResult).reason;
			expect(reason).toBeInstanceOf(ModelLoadError);
			expect(reason).toMatchObject({ code: 503, retryable: true });
			expect(reason.message).toMatch(/iris:1 could not be loaded: file truncated/);
		}
		expect(cache.has("iris:1")).toBe(false);

		// The next request tries again, but not before the 250 ms backoff.
		const second = cache.acquire("iris:1", loader).catch(e => e);
		await clock.advance(249);
		expect(loader).toHaveBeenCalledTimes(1);
		await clock.advance(1);
		// A client-caused error passes through as it is.
		expect(await second).toBeInstanceOf(InvalidModelFileError);

		// The backoff doubles after a second failure in a row.
		const third = cache.acquire("iris:1", loader);
		await clock.advance(499);
		expect(loader).toHaveBeenCalledTimes(2);
		await clock.advance(1);
		(await third).release();
		expect(failed).toEqual([1, 2]);
		expect(cache.stats()).toMatchObject({ loadFailures: 2, loads: 1, misses: 4, hits: 0 });
	});

	it("never disposes an evicted model before the runs holding it finish", async () => {
		const evicted: ModelEvictedEvent[] = [];
		const cache = cacheWith(100, new FakeClock(), { evicted: e => evicted.push(e) });
		const running = deferred<void>();
		let heldModel: FakeLoadedModel | undefined;
		const run = cache.use("a", loaderOf("a", 60), async model => {
			heldModel = model as FakeLoadedModel;
			await running.promise;
			return model.run([]);
		});
		await settle();
		await cache.use("b", loaderOf("b", 60), async () => undefined);
		expect(evicted).toEqual([{ key: "a", bytes: 60, reason: "lru" }]);
		expect(heldModel?.disposed).toBe(false);
		expect(cache.stats()).toMatchObject({ bytesUsed: 60, bytesDraining: 60 });
		running.resolve();
		await expect(run).resolves.toEqual([]);
		await settle();
		expect(heldModel?.disposed).toBe(true);
		expect(cache.stats().bytesDraining).toBe(0);
	});

	it("refuses an unpinned model that only pinned ones keep out, then without loading it again", async () => {
		const cache = cacheWith(100);
		cache.pin("deployed");
		await cache.load("deployed", loaderOf("deployed", 70));
		const big = new FakeLoadedModel("big", 50);
		const loader = jest.fn(async () => big);
		const refused = await cache.acquire("big", loader).catch(e => e);
		expect(refused).toBeInstanceOf(ModelLoadError);
		expect(refused.message).toMatch(/needs 50 bytes, but 70 bytes .* pinned/);
		await settle();
		expect(big.disposed).toBe(true);
		await expect(cache.acquire("big", loader)).rejects.toBeInstanceOf(ModelLoadError);
		expect(loader).toHaveBeenCalledTimes(1);
		expect(cache.stats()).toMatchObject({ refusals: 2, loadFailures: 0, bytesUsed: 70 });
	});

	it("admits a pinned model over budget, reports the excess and shrinks back on unpin", async () => {
		const cache = cacheWith(100);
		cache.pin("a");
		cache.pin("b");
		await cache.load("a", loaderOf("a", 70));
		await cache.load("b", loaderOf("b", 50));
		expect(cache.stats()).toMatchObject({ bytesUsed: 120, overBudgetBytes: 20 });
		cache.unpin("a");
		await settle();
		expect(cache.stats()).toMatchObject({ bytesUsed: 50, overBudgetBytes: 0, evictions: 1 });
		expect(cache.stats().entries.map(e => [e.key, e.pinned])).toEqual([["b", true]]);
	});

	it("unloads a key, pinned or not, once its runs finish", async () => {
		const cache = cacheWith(1000);
		cache.pin("a");
		const lease = await cache.acquire("a", loaderOf("a", 10));
		const unloaded = cache.unload("a").then(done => ({ done }));
		await settle();
		expect(cache.has("a")).toBe(false);
		expect((lease.model as FakeLoadedModel).disposed).toBe(false);
		lease.release();
		await expect(unloaded).resolves.toEqual({ done: true });
		expect((lease.model as FakeLoadedModel).disposed).toBe(true);
		expect(cache.stats().pinned).toEqual([]);
		await expect(cache.unload("a")).resolves.toBe(false);
	});

	it("reports loads and evictions with sizes and times, and disposes everything on close", async () => {
		const clock = new FakeClock();
		const events: string[] = [];
		const cache = cacheWith(100, clock, {
			loaded: e => events.push(`loaded ${e.key} ${e.bytes} B in ${e.ms} ms`),
			evicted: e => events.push(`evicted ${e.key} ${e.bytes} B (${e.reason})`),
		});
		const slowLoader = (key: string, bytes: number, ms: number) => async () => {
			clock.jump(ms);
			return new FakeLoadedModel(key, bytes);
		};
		await cache.load("a", slowLoader("a", 60, 30));
		await cache.load("b", slowLoader("b", 30, 12));
		await cache.load("c", slowLoader("c", 50, 8));
		const models = cache.stats().entries.map(e => e.key);
		await cache.close();
		expect(models).toEqual(["b", "c"]);
		expect(events).toEqual([
			"loaded a 60 B in 30 ms",
			"loaded b 30 B in 12 ms",
			"evicted a 60 B (lru)",
			"loaded c 50 B in 8 ms",
			"evicted b 30 B (close)",
			"evicted c 50 B (close)",
		]);
		expect(cache.stats()).toMatchObject({
			totalLoadMs: 50,
			loads: 3,
			evictions: 3,
			bytesUsed: 0,
		});
	});
});
