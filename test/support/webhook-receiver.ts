/**
 * A webhook receiver for tests: an HTTP server on 127.0.0.1 that verifies every delivery with
 * the `standardwebhooks` package under the secret it is given, and records what it saw — the
 * verified event ids, any delivery it could not verify, and when each attempt arrived. Its
 * answer is chosen per path: `/ok` answers 204, `/fail` 500, and `/gated` holds each delivery
 * unanswered until `open()` (the sender's attempt is in flight), 204 after.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedDelivery {
	path: string;
	webhookId: string;
	/** The CloudEvent of the body. */
	event: { id: string; type: string; tenant: string; data: Record<string, unknown> };
	at: number;
	/** What the receiver answered. */
	status: number;
}

export class WebhookReceiver {
	readonly deliveries: ReceivedDelivery[] = [];
	/** Deliveries whose signature did not verify (with why): a test expects none. */
	readonly unverified: string[] = [];
	private secrets: string[] = [];
	private gateOpen = false;
	/** Deliveries to `/gated` held unanswered so far. */
	held = 0;

	private constructor(private readonly server: http.Server) {}

	static async start(): Promise<WebhookReceiver> {
		let receiver: WebhookReceiver | null = null;
		const server = http.createServer((req, res) => receiver!.handle(req, res));
		receiver = new WebhookReceiver(server);
		await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
		return receiver;
	}

	/** The URL of one of its paths (`/ok`, `/fail`, `/gated`). */
	url(path: string): string {
		return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
	}

	/** A secret deliveries may be signed with (each endpoint's). */
	trust(secret: string): void {
		this.secrets.push(secret);
	}

	/** `/gated` answers 204 from now on. */
	open(): void {
		this.gateOpen = true;
	}

	/** The distinct event ids it verified (on any path answered 2xx). */
	deliveredIds(path?: string): Set<string> {
		return new Set(
			this.deliveries
				.filter(d => d.status < 300 && (path === undefined || d.path === path))
				.map(d => d.event.id),
		);
	}

	async stop(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise<void>(resolve => this.server.close(() => resolve()));
	}

	private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => {
			const body = Buffer.concat(chunks).toString("utf8");
			const headers = {
				"webhook-id": String(req.headers["webhook-id"] ?? ""),
				"webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
				"webhook-signature": String(req.headers["webhook-signature"] ?? ""),
			};
			let event: ReceivedDelivery["event"] | null = null;
			const reasons: string[] = [];
			for (const secret of this.secrets) {
				try {
					event = new Webhook(secret).verify(body, headers) as ReceivedDelivery["event"];
					break;
				} catch (err) {
					reasons.push((err as Error).message);
				}
			}
			if (event === null) {
				this.unverified.push(
					`${headers["webhook-id"]}: ${reasons.join("; ") || "no secret"}`,
				);
				res.writeHead(400).end();
				return;
			}
			const path = (req.url ?? "").split("?")[0];
			if (path === "/gated" && !this.gateOpen) {
				// Never answered: the sender that sent it is killed meanwhile, or times out.
				this.held += 1;
				return;
			}
			const status = path === "/fail" ? 500 : 204;
			this.deliveries.push({
				path,
				webhookId: headers["webhook-id"],
				event,
				at: Date.now(),
				status,
			});
			res.writeHead(status).end();
		});
	}
}
