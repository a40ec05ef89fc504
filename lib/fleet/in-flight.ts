import type { Middleware } from "moleculer";

/** Counts the actions executing on this node; the agent reports it in `node.status`. */
export class InFlightCounter {
	private current = 0;

	get value(): number {
		return this.current;
	}

	/** A Moleculer middleware that counts every local action call while it runs. */
	middleware(): Middleware {
		return {
			name: "InFlightCounter",
			localAction: (next: (ctx: unknown) => Promise<unknown>) => {
				// `then` with both handlers, not `finally`: this wraps every action of the node, on
				// the prediction path several times per request, and `finally` costs more promises.
				const done = (value: unknown): unknown => {
					this.current--;
					return value;
				};
				const failed = (error: unknown): Promise<never> => {
					this.current--;
					return Promise.reject(error);
				};
				return (ctx: unknown) => {
					this.current++;
					let running: Promise<unknown>;
					try {
						running = next(ctx);
					} catch (error) {
						this.current--;
						throw error;
					}
					return running.then(done, failed);
				};
			},
		} as Middleware;
	}
}
