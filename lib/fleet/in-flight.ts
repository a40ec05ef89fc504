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
			localAction: (next: (ctx: unknown) => Promise<unknown>) => (ctx: unknown) => {
				this.current++;
				return next(ctx).finally(() => {
					this.current--;
				});
			},
		} as Middleware;
	}
}
