import { KeyedLock } from "../../../lib/artifacts/keyed-lock";

const tick = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 5));

describe("KeyedLock", () => {
	it("runs sections of one key one after another, in order", async () => {
		const lock = new KeyedLock();
		const order: string[] = [];
		const section = (name: string) => async () => {
			order.push(`${name} in`);
			await tick();
			order.push(`${name} out`);
			return name;
		};
		const results = await Promise.all([
			lock.run("a", section("1")),
			lock.run("a", section("2")),
		]);
		expect(results).toEqual(["1", "2"]);
		expect(order).toEqual(["1 in", "1 out", "2 in", "2 out"]);
		expect(lock.size).toBe(0);
	});

	it("runs sections of different keys side by side", async () => {
		const lock = new KeyedLock();
		const order: string[] = [];
		await Promise.all(
			["a", "b"].map(key =>
				lock.run(key, async () => {
					order.push(`${key} in`);
					await tick();
					order.push(`${key} out`);
				}),
			),
		);
		expect(order).toEqual(["a in", "b in", "a out", "b out"]);
	});

	it("goes on with the next section after one fails", async () => {
		const lock = new KeyedLock();
		const failed = lock.run("a", async () => {
			throw new Error("boom");
		});
		const next = lock.run("a", async () => "after");
		await expect(failed).rejects.toThrow("boom");
		await expect(next).resolves.toBe("after");
	});
});
