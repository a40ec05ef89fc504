import { InFlightCounter } from "../../../lib/fleet/in-flight";

type Handler = (ctx: unknown) => Promise<unknown>;

function wrap(counter: InFlightCounter, handler: Handler): Handler {
	const middleware = counter.middleware() as unknown as {
		localAction: (next: Handler) => Handler;
	};
	return middleware.localAction(handler);
}

describe("InFlightCounter", () => {
	it("counts an action while it runs and passes its answer through", async () => {
		const counter = new InFlightCounter();
		let release: (value: string) => void = () => undefined;
		const action = wrap(counter, () => new Promise(resolve => (release = resolve)));
		const running = action({});
		expect(counter.value).toBe(1);
		release("answer");
		await expect(running).resolves.toBe("answer");
		expect(counter.value).toBe(0);
	});

	it("stops counting an action that fails, and passes its error on", async () => {
		const counter = new InFlightCounter();
		const error = new Error("boom");
		await expect(wrap(counter, () => Promise.reject(error))({})).rejects.toBe(error);
		const throwing = wrap(counter, () => {
			throw error;
		});
		expect(() => throwing({})).toThrow(error);
		expect(counter.value).toBe(0);
	});
});
