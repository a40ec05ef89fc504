/**
 * Sends fuzz requests to a gateway over real HTTP, several at a time, and tallies what came
 * back: statuses per route family, every answer ≥ 500, every request that got no answer in
 * time (a hang), and every connection the server dropped without answering a well-framed
 * request.
 */
import * as net from "node:net";
import type { FuzzRequest } from "./api-fuzzer";

export interface FuzzOutcome {
	sent: number;
	/** Status → count (`null`: no status, e.g. a socket the server closed on a lying body). */
	statuses: Map<number | null, number>;
	/** Route family → count of requests sent. */
	families: Map<string, number>;
	/** One line per answer ≥ 500. */
	serverErrors: string[];
	/** One line per request with no answer within the timeout. */
	hangs: string[];
	/** One line per well-framed request whose connection failed without an answer. */
	dropped: string[];
}

export interface FuzzRunOptions {
	baseUrl: string;
	concurrency: number;
	/** A request with no answer (headers) within this is a hang. */
	timeoutMs: number;
}

function describe(request: FuzzRequest, index: number): string {
	const body = request.body ? request.body.subarray(0, 160).toString("latin1") : "";
	return `#${index} ${request.family} ${request.method} ${request.path.slice(0, 160)} ${body}`;
}

/** The status of a raw HTTP/1.1 exchange, or null when the server closed without one. */
function sendOnSocket(
	port: number,
	request: FuzzRequest,
	timeoutMs: number,
): Promise<{ status: number | null; timedOut: boolean }> {
	return new Promise(resolve => {
		const socket = net.connect(port, "127.0.0.1");
		const body = request.body ?? Buffer.alloc(0);
		let answer = "";
		let timedOut = false;
		socket.setTimeout(timeoutMs, () => {
			timedOut = true;
			socket.destroy();
		});
		socket.on("connect", () => {
			const lie = request.socket === "lie";
			const head = [
				`${request.method} ${request.path} HTTP/1.1`,
				"Host: 127.0.0.1",
				...(request.body || lie
					? [`Content-Length: ${body.length + (lie ? 100 : 0)}`]
					: []),
				...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`),
				"Connection: close",
				"",
				"",
			].join("\r\n");
			socket.write(Buffer.from(head, "latin1"));
			if (lie) socket.end(body.subarray(0, Math.floor(body.length / 2)));
			else socket.write(body);
		});
		socket.on("data", chunk => {
			answer += chunk.toString("latin1");
			if (/^HTTP\/1\.1 \d{3}/.test(answer)) socket.destroy();
		});
		socket.on("error", () => undefined);
		socket.on("close", () => {
			const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
			// A lying body is answered, or the connection is closed when the client stops: both fine.
			resolve({ status: status ? Number(status[1]) : null, timedOut: timedOut && !status });
		});
	});
}

/** Sends every request in order, `concurrency` at a time; never throws for a bad answer. */
export async function runFuzz(
	requests: readonly FuzzRequest[],
	options: FuzzRunOptions,
): Promise<FuzzOutcome> {
	const port = Number(new URL(options.baseUrl).port);
	// No set-up request may leave a keep-alive connection idle in the client's pool (they send
	// `connection: close`, CLOSE_CONNECTION of fuzz-world.ts): one the server closes (its 5 s
	// keep-alive timeout) just as the first request goes out on it drops that request ("other
	// side closed") through no fault of the server.
	const outcome: FuzzOutcome = {
		sent: 0,
		statuses: new Map(),
		families: new Map(),
		serverErrors: [],
		hangs: [],
		dropped: [],
	};
	let next = 0;
	const worker = async (): Promise<void> => {
		while (next < requests.length) {
			const index = next++;
			const request = requests[index];
			let status: number | null = null;
			if (request.socket) {
				const sent = await sendOnSocket(port, request, options.timeoutMs);
				status = sent.status;
				if (sent.timedOut) outcome.hangs.push(describe(request, index));
			} else {
				const abort = new AbortController();
				const timer = setTimeout(() => abort.abort(), options.timeoutMs);
				try {
					const response = await fetch(`${options.baseUrl}${request.path}`, {
						method: request.method,
						headers: request.headers,
						body:
							request.method === "GET" || request.method === "HEAD"
								? undefined
								: request.body,
						signal: abort.signal,
					});
					status = response.status;
					if (request.stream && response.ok) await response.body?.cancel();
					else await response.arrayBuffer();
				} catch (err) {
					if (abort.signal.aborted) outcome.hangs.push(describe(request, index));
					else
						outcome.dropped.push(
							`${describe(request, index)}: ${(err as Error).message}${causeOf(err)}`,
						);
				} finally {
					clearTimeout(timer);
				}
			}
			outcome.sent++;
			outcome.statuses.set(status, (outcome.statuses.get(status) ?? 0) + 1);
			outcome.families.set(request.family, (outcome.families.get(request.family) ?? 0) + 1);
			if (status !== null && status >= 500)
				outcome.serverErrors.push(`${describe(request, index)} → ${status}`);
		}
	};
	await Promise.all(Array.from({ length: options.concurrency }, worker));
	return outcome;
}

/** One line for the test output: how many, which statuses, which families. */
export function summarize(label: string, seed: number, outcome: FuzzOutcome): string {
	const statuses = [...outcome.statuses.entries()]
		.sort((a, b) => Number(a[0]) - Number(b[0]))
		.map(([s, n]) => `${s ?? "closed"}:${n}`)
		.join(" ");
	const families = [...outcome.families.entries()]
		.sort()
		.map(([f, n]) => `${f}:${n}`)
		.join(" ");
	return (
		`${label}: seed ${seed} (MODELFLEET_FUZZ_SEED=${seed} reproduces), ${outcome.sent} requests, ` +
		`${outcome.serverErrors.length} answers ≥ 500, ${outcome.hangs.length} hangs, ` +
		`${outcome.dropped.length} dropped\n  statuses ${statuses}\n  families ${families}`
	);
}

/** fetch says only "fetch failed"; the socket's own error (ECONNRESET, EPIPE…) is its cause. */
function causeOf(err: unknown): string {
	const cause = (err as { cause?: { code?: string; message?: string } }).cause;
	if (cause === undefined) return "";
	return ` (${[cause.code, cause.message].filter(Boolean).join(": ")})`;
}
