import { CoalescedPass } from "../../../lib/scheduler/coalesced-pass";

describe("CoalescedPass", () => {
	it("never overlaps, and turns any number of triggers during a pass into one more pass", async () => {
		let running = 0;
		let most = 0;
		let passes = 0;
		let release: () => void = () => undefined;
		const pass = new CoalescedPass(async () => {
			running++;
			most = Math.max(most, running);
			passes++;
			await new Promise<void>(resolve => (release = resolve));
			running--;
		});
		const first = pass.trigger();
		expect(pass.active).toBe(true);
		for (let i = 0; i < 5; i++) void pass.trigger();
		release();
		await new Promise(resolve => setImmediate(resolve));
		release();
		await first;
		expect(passes).toBe(2);
		expect(most).toBe(1);
		expect(pass.active).toBe(false);
	});

	it("lets a failed pass reject its callers and still run the next trigger", async () => {
		let fail = true;
		const pass = new CoalescedPass(async () => {
			if (fail) throw new Error("boom");
		});
		await expect(pass.trigger()).rejects.toThrow("boom");
		fail = false;
		await expect(pass.trigger()).resolves.toBeUndefined();
	});
});
