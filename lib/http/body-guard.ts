/**
 * The gateway's guard on request bodies, run on every request before a route sees it:
 *
 * - A declared `Content-Length` over the route's own limit is refused before anything is read
 *   (uploads: 413 naming the setting), or left to the route that refuses it the same way.
 * - Bodies the gateway holds in memory (JSON, inference, repository bodies) take their bytes
 *   from a ByteBudget, per caller and in total: the declared length before reading (429 or
 *   503 at once), or, without one, each chunk as it arrives (the answer is given as soon as the
 *   count would pass a limit, and the rest of the body is read into nothing). The bytes are
 *   given back when the response is done. A compressed body's reader also takes the bytes it
 *   inflates, as they come. Uploads stream through and are not counted.
 * - A body that sends nothing for `idleTimeoutMs` is dropped: 408 while an answer can still be
 *   written, and the connection is closed. One timer checks every body in progress by its
 *   socket's byte count, so nothing is done per chunk; a body the gateway itself is not
 *   reading yet (bytes waiting in its buffer) is not idle.
 *
 * Node's own `requestTimeout` is a deadline for the whole request (it would cut a large upload
 * on a slow link however steadily it arrives, and a stalled one lives until it); an idle
 * timeout tells a stalled body from a slow one.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTimeoutError, GatewayBusyError, TooManyInFlightError } from "../errors";
import type { BudgetRefusal, ByteBudget, ByteBudgetLimits } from "./byte-budget";
import { INFLATED_BUDGET, type InflatedBudget } from "./content-encoding";

/** What a request's body is, for the guard. */
export interface BodyKind {
	/** Held whole in memory by its reader: its bytes count against the budget. */
	buffered: boolean;
	/** The route's own limit on the body; a larger declared length is not counted. */
	maxBytes: number;
	/** The error to answer a declared length over `maxBytes` with at once; none: the route answers it. */
	tooLarge?: (declared: number) => Error;
}

export interface BodyGuardOptions {
	budget: ByteBudget;
	/** A body that sends nothing this long is dropped, ms. */
	idleTimeoutMs: number;
	/** What the request's body is. */
	classify(req: IncomingMessage): BodyKind;
	/** Who pays for the bytes: the API key presented, else the client's address. */
	callerKey(req: IncomingMessage): string;
	/** Writes an error answer as the request's route would. */
	writeError(req: IncomingMessage, res: ServerResponse, err: unknown): void;
	/** The Retry-After given with 429 and 503, ms. Default 1000. */
	retryAfterMs?: number;
}

export const BUDGET_SETTINGS = {
	key: "MODELFLEET_KEY_IN_FLIGHT_BYTES",
	total: "MODELFLEET_IN_FLIGHT_BYTES",
} as const;

/** The Retry-After of a refusal for bytes in flight, ms. */
export const DEFAULT_RETRY_AFTER_MS = 1000;

/** The answer to a take the budget refused: 429 for the caller's own limit, 503 for the total. */
export function budgetRefusalError(
	limits: Readonly<ByteBudgetLimits>,
	refusal: BudgetRefusal,
	retryAfterMs: number,
): Error {
	return refusal === "key"
		? new TooManyInFlightError(
				"request-body bytes",
				limits.perKeyBytes,
				BUDGET_SETTINGS.key,
				retryAfterMs,
			)
		: new GatewayBusyError(limits.totalBytes, BUDGET_SETTINGS.total, retryAfterMs);
}

/** How long a refused body may go on arriving (read into nothing) before the connection is closed. */
const LINGER_MS = 5000;

interface Watched {
	req: IncomingMessage;
	res: ServerResponse;
	bytesRead: number;
	activeAt: number;
	/** The caller whose budget holds the declared length, given back when the response is done. */
	heldBy: string | null;
	heldBytes: number;
}

/** Whether the body comes compressed (any Content-Encoding but identity). */
function isEncoded(req: IncomingMessage): boolean {
	const encoding = req.headers["content-encoding"];
	return encoding !== undefined && !/^\s*identity\s*$/i.test(encoding);
}

/** A declared Content-Length; null when there is none (chunked) or it is not a number. */
function declaredLength(req: IncomingMessage): number | null {
	const text = req.headers["content-length"];
	return text !== undefined && /^\s*\d{1,15}\s*$/.test(text) ? Number(text) : null;
}

export class BodyGuard {
	private readonly watched = new Set<Watched>();
	private timer: NodeJS.Timeout | null = null;
	private readonly retryAfterMs: number;

	constructor(private readonly options: BodyGuardOptions) {
		this.retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
	}

	/** Checks a request as it comes in; false when it was answered here (the route must not see it). */
	admit(req: IncomingMessage, res: ServerResponse): boolean {
		const declared = declaredLength(req);
		const chunked = declared === null && req.headers["transfer-encoding"] !== undefined;
		if (!chunked && (declared === null || declared === 0)) return true;

		const kind = this.options.classify(req);
		const entry = this.watch(req, res);
		if (declared !== null && declared > kind.maxBytes) {
			if (kind.tooLarge === undefined) return true; // the route answers 413 before reading
			this.refuse(req, res, kind.tooLarge(declared));
			return false;
		}
		if (!kind.buffered) return true;

		const key = this.options.callerKey(req);
		const budget = this.options.budget;
		if (isEncoded(req)) this.countInflated(req, res, key);
		if (declared !== null) {
			const refusal = budget.take(key, declared);
			if (refusal !== null) {
				this.refuse(req, res, this.budgetError(refusal));
				return false;
			}
			entry.heldBy = key;
			entry.heldBytes = declared;
			return true;
		}
		this.countChunks(req, res, key);
		return true;
	}

	/** Stops the idle checks (the server is closing). */
	close(): void {
		if (this.timer !== null) clearInterval(this.timer);
		this.timer = null;
		this.watched.clear();
	}

	/** Bodies being watched for stalls now. */
	get bodiesInProgress(): number {
		return this.watched.size;
	}

	/**
	 * A compressed body: its reader (content-encoding.ts) takes the bytes it inflates from the
	 * same budget, chunk by chunk, given back when the response is done.
	 */
	private countInflated(req: IncomingMessage, res: ServerResponse, key: string): void {
		const budget = this.options.budget;
		let held = 0;
		let done = false;
		const inflated: InflatedBudget = {
			take: bytes => {
				if (done) return null;
				const refusal = budget.take(key, bytes);
				if (refusal !== null) return this.budgetError(refusal);
				held += bytes;
				return null;
			},
		};
		(req as IncomingMessage & { [INFLATED_BUDGET]?: InflatedBudget })[INFLATED_BUDGET] =
			inflated;
		res.once("close", () => {
			done = true;
			budget.give(key, held);
			held = 0;
		});
	}

	/**
	 * A body without a length: each chunk the HTTP parser hands the request takes its bytes
	 * first. Past a limit the answer goes out at once, and later chunks are dropped unread.
	 */
	private countChunks(req: IncomingMessage, res: ServerResponse, key: string): void {
		const budget = this.options.budget;
		const push = req.push.bind(req);
		let held = 0;
		let refused = false;
		let done = false;
		req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
			if (chunk === null || done) return push(chunk, encoding);
			if (refused) return true;
			const bytes = (chunk as Buffer).length;
			const refusal = budget.take(key, bytes);
			if (refusal === null) {
				held += bytes;
				return push(chunk, encoding);
			}
			refused = true;
			this.refuse(req, res, this.budgetError(refusal));
			return true;
		};
		res.once("close", () => {
			done = true;
			budget.give(key, held);
			held = 0;
		});
	}

	private budgetError(refusal: BudgetRefusal): Error {
		return budgetRefusalError(this.options.budget.limits, refusal, this.retryAfterMs);
	}

	/**
	 * Answers now. The rest of the body is read into nothing for a moment, so that a client
	 * still sending reads the answer (closing at once would reset the connection under it),
	 * then the connection is closed if the body has not ended.
	 */
	private refuse(req: IncomingMessage, res: ServerResponse, err: unknown): void {
		if (res.headersSent) return;
		this.options.writeError(req, res, err);
		res.once("finish", () => {
			setTimeout(() => {
				if (!req.complete) req.destroy(err as Error);
			}, LINGER_MS).unref();
		});
	}

	/**
	 * Watches a body until its response is done. The entry leaves the set then, not at the next
	 * idle check (up to a second later): a set holding every request of the last second held
	 * thousands of requests and responses at a busy gateway, long enough for V8 to move them to
	 * its old generation, which then filled with them and was collected whole every few seconds.
	 */
	private watch(req: IncomingMessage, res: ServerResponse): Watched {
		const entry: Watched = {
			req,
			res,
			bytesRead: req.socket?.bytesRead ?? 0,
			activeAt: Date.now(),
			heldBy: null,
			heldBytes: 0,
		};
		this.watched.add(entry);
		res.once("close", () => {
			this.watched.delete(entry);
			if (entry.heldBy !== null) this.options.budget.give(entry.heldBy, entry.heldBytes);
		});
		if (this.timer === null) {
			const every = Math.max(50, Math.min(1000, this.options.idleTimeoutMs / 4));
			this.timer = setInterval(() => this.check(), every);
			this.timer.unref();
		}
		return entry;
	}

	private check(): void {
		const now = Date.now();
		for (const entry of this.watched) {
			const { req, res } = entry;
			const socket = req.socket;
			if (req.complete || socket === null || socket.destroyed) {
				this.watched.delete(entry);
				continue;
			}
			const bytesRead = socket.bytesRead;
			// Bytes arrived, or the gateway is not reading what came (then it is not the client).
			if (bytesRead !== entry.bytesRead || req.readableLength > 0) {
				entry.bytesRead = bytesRead;
				entry.activeAt = now;
				continue;
			}
			if (now - entry.activeAt < this.options.idleTimeoutMs) continue;
			this.watched.delete(entry);
			// Destroying the request (and its connection) ends whatever reads the body with this
			// error: once its answer is finished, a request is no longer aborted with its socket.
			const error = new BodyTimeoutError(this.options.idleTimeoutMs / 1000);
			if (res.headersSent) {
				req.destroy(error);
				continue;
			}
			// Nothing is arriving: the answer goes out and the connection ends after it.
			res.setHeader("Connection", "close");
			this.options.writeError(req, res, error);
			res.once("finish", () => req.destroy(error));
			setTimeout(() => req.destroy(error), 1000).unref();
		}
		if (this.watched.size === 0 && this.timer !== null) {
			clearInterval(this.timer);
			this.timer = null;
		}
	}
}
