/**
 * The cache the data plane answers from while the control plane is down: fresh answers used as
 * they are, refusals honoured as soon as control answers, older answers only when control
 * cannot answer and only within their bound, and never a long wait for control.
 */
import { Errors } from "moleculer";
import { FallbackCache, isControlUnreachable } from "../../../lib/cache/fallback-cache";
import { UnauthenticatedError } from "../../../lib/errors";

const unreachable = () =>
	Promise.reject(new Errors.ServiceNotAvailableError({ action: "accounts.authenticate" }));
const never = () => new Promise<string>(() => undefined);

function cache(clock: { t: number }, outages: string[] = []) {
	return new FallbackCache<string>({
		freshMs: 10_000,
		staleMs: 60_000,
		waitMs: 50,
		maxEntries: 2,
		now: () => clock.t,
		onOutage: down => outages.push(down ? "down" : "up"),
	});
}

describe("FallbackCache", () => {
	it("tells control's refusals from its absence", () => {
		expect(isControlUnreachable(new UnauthenticatedError())).toBe(false);
		expect(isControlUnreachable(new Errors.ServiceNotAvailableError({ action: "a" }))).toBe(
			true,
		);
		expect(isControlUnreachable(new Errors.RequestTimeoutError({ action: "a" }))).toBe(true);
		expect(isControlUnreachable(new Error("socket hang up"))).toBe(true);
	});

	it("uses a fresh answer without asking, and asks again once it is not fresh", async () => {
		const clock = { t: 0 };
		const c = cache(clock);
		const load = jest.fn(async () => "v1");
		expect(await c.get("k", load)).toBe("v1");
		clock.t = 9_999;
		expect(await c.get("k", load)).toBe("v1");
		expect(load).toHaveBeenCalledTimes(1);
		clock.t = 10_000;
		expect(await c.get("k", async () => "v2")).toBe("v2");
	});

	it("honours a refusal as soon as control answers (a revoked key)", async () => {
		const clock = { t: 0 };
		const c = cache(clock);
		await c.get("k", async () => "v1");
		clock.t = 10_001;
		await expect(c.get("k", () => Promise.reject(new UnauthenticatedError()))).rejects.toThrow(
			UnauthenticatedError,
		);
		// Gone for good: control being down later does not bring it back.
		await expect(c.get("k", unreachable)).rejects.toThrow(Errors.ServiceNotAvailableError);
	});

	it("answers from the older answer while control cannot answer, within its bound", async () => {
		const clock = { t: 0 };
		const outages: string[] = [];
		const c = cache(clock, outages);
		await c.get("k", async () => "v1");
		clock.t = 30_000;
		expect(await c.get("k", unreachable)).toBe("v1");
		expect(outages).toEqual(["down"]);
		// Past the bound (60 s after it was last confirmed) it needs control again.
		clock.t = 60_000;
		await expect(c.get("k", unreachable)).rejects.toThrow(Errors.ServiceNotAvailableError);
		// A key never seen needs control too.
		await expect(c.get("other", unreachable)).rejects.toThrow(Errors.ServiceNotAvailableError);
		// Control back: its answer is used and the outage ends.
		expect(await c.get("k", async () => "v2")).toBe("v2");
		expect(outages).toEqual(["down", "up"]);
	});

	it("waits at most waitMs for a control that does not answer, and not at all once it is known down", async () => {
		const clock = { t: 0 };
		const c = cache(clock);
		await c.get("k", async () => "v1");
		clock.t = 20_000;
		let started = performance.now();
		expect(await c.get("k", never)).toBe("v1");
		expect(performance.now() - started).toBeLessThan(1000);
		// A control that did not answer in time (frozen) is not waited for again.
		expect(c.controlDown).toBe(true);
		started = performance.now();
		expect(await c.get("k", never)).toBe("v1");
		expect(performance.now() - started).toBeLessThan(20);

		await c.get("j", async () => "j1");
		clock.t = 40_000;
		await expect(c.get("new", unreachable)).rejects.toThrow();
		expect(c.controlDown).toBe(true);
		started = performance.now();
		const load = jest.fn(never);
		expect(await c.get("j", load)).toBe("j1");
		expect(performance.now() - started).toBeLessThan(20);
		expect(load).toHaveBeenCalledTimes(1);
	});

	it("with no wait, answers from what it holds and refreshes behind the request", async () => {
		const clock = { t: 0 };
		const c = new FallbackCache<string>({
			freshMs: 2000,
			staleMs: 60_000,
			waitMs: 0,
			maxEntries: 10,
			now: () => clock.t,
		});
		await c.get("k", async () => "v1");
		clock.t = 5000;
		let answer!: (value: string) => void;
		const load = jest.fn(() => new Promise<string>(resolve => (answer = resolve)));
		expect(await c.get("k", load)).toBe("v1");
		expect(load).toHaveBeenCalledTimes(1);
		answer("v2");
		await new Promise(resolve => setImmediate(resolve));
		expect(await c.get("k", load)).toBe("v2");
		expect(load).toHaveBeenCalledTimes(1);
	});

	it("keeps at most maxEntries keys", async () => {
		const c = cache({ t: 0 });
		for (const key of ["a", "b", "c"]) await c.get(key, async () => key);
		expect(c.size).toBe(2);
	});
});
