/**
 * One webhook delivery attempt, signed as the Standard Webhooks specification says
 * (https://www.standardwebhooks.com): `webhook-id` (the event's id, the same on every retry),
 * `webhook-timestamp` (seconds), `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
 * `id.timestamp.body` under the endpoint's `whsec_` secret). The connection goes to an address
 * checked just now (webhook-target.ts), never to one the name resolves to afterwards; redirects
 * are not followed. The answer's body is read up to a few KiB and dropped.
 */
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import { Webhook } from "standardwebhooks";
import {
	checkedAddresses,
	resolveWithDns,
	targetUrlProblem,
	type ResolveHost,
} from "./webhook-target";

/** A new signing secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
	return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The Standard Webhooks headers of one attempt. */
export function signedHeaders(
	secret: string,
	messageId: string,
	body: string,
	now: Date,
): Record<string, string> {
	return {
		"webhook-id": messageId,
		"webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
		"webhook-signature": new Webhook(secret).sign(messageId, now, body),
	};
}

export interface AttemptOutcome {
	/** 2xx: delivered. */
	ok: boolean;
	/** The receiver's status; null when there was no answer (refused, timed out, unreachable). */
	status: number | null;
	latencyMs: number;
	/** What went wrong, for the delivery log; null when delivered. */
	error: string | null;
}

export interface SendOptions {
	timeoutMs: number;
	allowPrivate: boolean;
	resolve?: ResolveHost;
	userAgent?: string;
}

const MAX_ANSWER_BYTES = 4096;

/** POSTs `body` to `url` with `headers`; never throws (the outcome says what happened). */
export async function sendWebhook(
	url: string,
	headers: Record<string, string>,
	body: string,
	options: SendOptions,
): Promise<AttemptOutcome> {
	const started = performance.now();
	const elapsed = () => Math.round(performance.now() - started);
	const problem = targetUrlProblem(url);
	if (problem) return { ok: false, status: null, latencyMs: 0, error: problem };
	const target = new URL(url);
	const addresses = await checkedAddresses(
		target.hostname,
		options.allowPrivate,
		options.resolve ?? resolveWithDns,
	);
	if (typeof addresses === "string")
		return { ok: false, status: null, latencyMs: elapsed(), error: addresses };
	// Connect to the first checked address whatever the name resolves to by then (DNS rebinding).
	const pinned = addresses[0];
	const lookup: LookupFunction = (_host, opts, callback) => {
		if ((opts as { all?: boolean }).all) callback(null, [pinned]);
		else callback(null, pinned.address, pinned.family);
	};
	const client = target.protocol === "https:" ? https : http;
	return new Promise<AttemptOutcome>(resolve => {
		const request = client.request(
			target,
			{
				method: "POST",
				lookup,
				timeout: options.timeoutMs,
				headers: {
					...headers,
					"content-type": "application/json",
					"content-length": String(Buffer.byteLength(body)),
					"user-agent": options.userAgent ?? "modelfleet-webhooks",
				},
			},
			response => {
				let read = 0;
				response.on("data", (chunk: Buffer) => {
					read += chunk.length;
					if (read > MAX_ANSWER_BYTES) response.destroy();
				});
				const finish = () => {
					const status = response.statusCode ?? 0;
					const ok = status >= 200 && status < 300;
					resolve({
						ok,
						status,
						latencyMs: elapsed(),
						error: ok ? null : `The receiver answered ${status}.`,
					});
				};
				response.once("end", finish);
				response.once("close", finish);
			},
		);
		request.setTimeout(options.timeoutMs, () =>
			request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
		);
		request.once("error", err =>
			resolve({ ok: false, status: null, latencyMs: elapsed(), error: err.message }),
		);
		request.end(body);
	});
}

export interface RetryPolicy {
	/** The delay before the second attempt; each later one doubles it. */
	baseMs: number;
	/** No delay grows past this. */
	maxMs: number;
	/** How long after its event a delivery is retried before it is dead-lettered. */
	retryForMs: number;
}

/**
 * The delay after failed attempt number `attempt` (1 for the first): exponential, capped, with
 * jitter in [75 %, 100 %] of the step — so receivers recovering together are not hit at once,
 * and each delay still exceeds the one before until the cap.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
	const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 40));
	return Math.round(step * (0.75 + 0.25 * random()));
}
