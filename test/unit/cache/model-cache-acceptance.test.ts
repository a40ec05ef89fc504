import { ModelCache } from "../../../lib/cache/model-cache";
import { FakeClock, settle } from "../batching/fake-clock";
import { FakeLoadedModel } from "./fake-loaded-model";

/** mulberry32: a small seeded generator, so the request mix is the same on every run. */
function seeded(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** Draws indices 0..n-1 with probability ∝ 1/(i+1)^s: a few keys are hot, most are cold. */
function zipf(n: number, s: number, random: () => number): () => number {
	const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
	const total = weights.reduce((a, b) => a + b, 0);
	return () => {
		let r = random() * total;
		for (let i = 0; i < n; i++) {
			r -= weights[i];
			if (r < 0) return i;
		}
		return n - 1;
	};
}

const MB = 1024 * 1024;
const KEYS = Array.from({ length: 10 }, (_, i) => `model-${i}:1`);
const SIZES = new Map(
	KEYS.map((key, i) => [key, [300, 200, 250, 150, 100, 350, 120, 180, 220, 90][i] * MB]),
);
const BUDGET = 1000 * MB;
const size = (key: string): number => SIZES.get(key) ?? 0;
// Two deployed versions, one of them cold in the mix: pinning, not use, keeps it resident.
const PINNED = new Set(["model-3:1", "model-9:1"]);

/** What the LRU should hold, worked out independently of the cache: least recent first. */
class ReferenceLru {
	readonly order: string[] = [];

	use(key: string): void {
		const at = this.order.indexOf(key);
		if (at >= 0) {
			this.order.splice(at, 1);
		} else {
			let used = this.bytes() + size(key);
			for (const resident of [...this.order]) {
				if (used <= BUDGET) break;
				if (PINNED.has(resident)) continue;
				this.order.splice(this.order.indexOf(resident), 1);
				used -= size(resident);
			}
		}
		this.order.push(key);
	}

	bytes(): number {
		return this.order.reduce((sum, key) => sum + size(key), 0);
	}
}

describe("ModelCache under a skewed request mix", () => {
	it("keeps the least recently used order within budget, keeps pinned versions and reports the hit ratio it saw", async () => {
		const clock = new FakeClock();
		const cache = new ModelCache({ options: { budgetBytes: BUDGET }, clock });
		const reference = new ReferenceLru();
		const created: FakeLoadedModel[] = [];
		let loads = 0;
		const loaderFor = (key: string) => async () => {
			loads++;
			clock.jump(size(key) / MB / 10); // ~0.1 ms per MB
			const model = new FakeLoadedModel(key, size(key));
			created.push(model);
			return model;
		};

		for (const key of PINNED) {
			cache.pin(key);
			await cache.load(key, loaderFor(key));
			reference.use(key);
		}

		const next = zipf(KEYS.length, 1.1, seeded(20_260_427));
		let hits = 0;
		let misses = 0;
		for (let i = 0; i < 2000; i++) {
			const key = KEYS[next()];
			const loadsBefore = loads;
			const answer = await cache.use(key, loaderFor(key), async model => {
				expect((model as FakeLoadedModel).disposed).toBe(false);
				return model.run([]);
			});
			expect(answer).toEqual([]);
			// Requests run one after another here, so a request missed exactly when it loaded.
			if (loads === loadsBefore) hits++;
			else misses++;
			reference.use(key);
			clock.jump(1);

			if (i % 100 === 0) {
				expect(cache.stats().entries.map(e => e.key)).toEqual(reference.order);
			}
		}

		const stats = cache.stats();
		expect(stats.entries.map(e => e.key)).toEqual(reference.order);
		expect(stats.bytesUsed).toBe(reference.bytes());
		expect(stats.bytesUsed).toBeLessThanOrEqual(BUDGET);
		for (const key of PINNED) {
			expect(stats.entries.find(e => e.key === key)?.pinned).toBe(true);
		}
		expect(stats.entries.map(e => e.lastUsedAt)).toEqual(
			[...stats.entries.map(e => e.lastUsedAt)].sort((a, b) => a - b),
		);

		expect(misses).toBeGreaterThan(20); // the mix really overflows the budget
		expect(hits).toBeGreaterThan(misses);
		expect(stats.hits).toBe(hits);
		expect(stats.misses).toBe(misses);
		expect(stats.hitRatio).toBe(hits / (hits + misses));
		expect(stats.loads).toBe(loads);
		expect(stats.evictions).toBe(loads - stats.entries.length);

		// Every model that left the cache was disposed; every resident one is alive.
		await settle();
		const resident = new Set(stats.entries.map(e => e.key));
		const alive = created.filter(model => !model.disposed);
		expect(alive.map(model => model.key).sort()).toEqual([...resident].sort());
	});
});
