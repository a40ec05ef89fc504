/**
 * Delivering what a trainer must not lose while no control node answers: a job's terminal
 * report (completed with its version, failed), its trained version's registration, its stored
 * artifacts. The control plane may be down for a while (killed, restarting on its database); the
 * trainer keeps training meanwhile, and each such call is tried again with a growing wait until
 * it is answered. The receiving side is idempotent (a report for an attempt already ended
 * changes nothing; a registration under the job's idempotency key answers the version it made),
 * so a call that did arrive but whose answer was lost may come twice.
 */
import { Errors } from "moleculer";

/** A call that surely never reached a service: no node offered it. */
export function notDelivered(err: unknown): boolean {
	return (
		err instanceof Errors.ServiceNotFoundError || err instanceof Errors.ServiceNotAvailableError
	);
}

/** A call that went unanswered (it may have arrived): its node went away or was too slow. */
export function unanswered(err: unknown): boolean {
	return (
		notDelivered(err) ||
		err instanceof Errors.RequestTimeoutError ||
		err instanceof Errors.RequestRejectedError
	);
}

/** Waits between tries, ms: doubling from the first to the cap. */
export const DELIVERY_BACKOFF = { firstMs: 250, maxMs: 5000 } as const;

export interface DeliveryOptions {
	/** Whether a failed try is worth another (the call was not answered); false rejects at once. */
	retryable(err: unknown): boolean;
	/** Aborted: no further try (the job was superseded, the node is stopping); rejects with the last error. */
	signal?: AbortSignal;
	/** Called before each wait, with the try that failed (1, 2, …). */
	onRetry?(err: unknown, tries: number, waitMs: number): void;
	/** The seam for tests; default setTimeout. */
	sleep?(ms: number, signal?: AbortSignal): Promise<void>;
	backoff?: { firstMs: number; maxMs: number };
}

/** The wait after the `tries`-th failed try. */
export function deliveryWaitMs(
	tries: number,
	backoff: { firstMs: number; maxMs: number } = DELIVERY_BACKOFF,
): number {
	return Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.max(0, tries - 1));
}

function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise(resolve => {
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal?.removeEventListener("abort", done);
			resolve();
		}
		signal?.addEventListener("abort", done, { once: true });
	});
}

/** Answers `send()`'s first answer, trying again after each retryable failure until one comes. */
export async function deliver<T>(send: () => Promise<T>, options: DeliveryOptions): Promise<T> {
	const sleep = options.sleep ?? sleepFor;
	for (let tries = 1; ; tries++) {
		try {
			return await send();
		} catch (err) {
			if (!options.retryable(err) || options.signal?.aborted) throw err;
			const waitMs = deliveryWaitMs(tries, options.backoff);
			options.onRetry?.(err, tries, waitMs);
			await sleep(waitMs, options.signal);
			if (options.signal?.aborted) throw err;
		}
	}
}
