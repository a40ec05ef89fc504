/**
 * A node's own health port (MODELFLEET_HEALTH_PORT) for container probes, on every role: the
 * gateway's /health routes live on its API port, which control and worker nodes do not have.
 * `GET /health/live` answers 200 while the process answers; `GET /health/ready` 200 or 503 with
 * what is `missing` (lib/health/readiness.ts); `GET /metrics` the node's Prometheus metrics, so
 * one port per node serves both the probes and the scrape. No key: like a kubelet's probe, the
 * scraper is trusted by the network it reaches the port from.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Readiness } from "./readiness";

export interface HealthServerOptions {
	host: string;
	/** 0 picks a free port. */
	port: number;
	nodeID: string;
	ready(): Promise<Readiness>;
	/** The Prometheus text exposition; without it, /metrics answers 404. */
	metrics?(): Promise<{ contentType: string; body: string }>;
}

export interface HealthServer {
	/** The port it listens on. */
	port: number;
	close(): Promise<void>;
}

function answer(res: http.ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, {
		"content-type": "application/json; charset=utf-8",
		"content-length": Buffer.byteLength(text),
		"cache-control": "no-store",
	});
	res.end(text);
}

/** Answers one request of a probe. */
export async function serveHealth(
	options: Pick<HealthServerOptions, "nodeID" | "ready" | "metrics">,
	req: http.IncomingMessage,
	res: http.ServerResponse,
): Promise<void> {
	const path = (req.url ?? "").split("?")[0];
	const metrics = path === "/metrics" ? options.metrics : undefined;
	if (path !== "/health/live" && path !== "/health/ready" && metrics === undefined) {
		answer(res, 404, {
			error: `Not found: this port answers GET /health/live and /health/ready${options.metrics ? " and /metrics" : ""}.`,
		});
		return;
	}
	if (req.method !== "GET" && req.method !== "HEAD") {
		res.setHeader("allow", "GET, HEAD");
		answer(res, 405, { error: "Use GET." });
		return;
	}
	if (metrics !== undefined) {
		let gathered: { contentType: string; body: string };
		try {
			gathered = await metrics();
		} catch (err) {
			// A scrape that fails is answered, never left hanging (and never an unhandled rejection).
			answer(res, 500, {
				error: `The metrics could not be gathered: ${(err as Error)?.message ?? String(err)}`,
			});
			return;
		}
		const { contentType, body } = gathered;
		res.writeHead(200, {
			"content-type": contentType,
			"content-length": Buffer.byteLength(body),
			"cache-control": "no-store",
		});
		res.end(req.method === "HEAD" ? undefined : body);
		return;
	}
	if (path === "/health/live") {
		answer(res, 200, { status: "live", nodeID: options.nodeID });
		return;
	}
	const readiness = await options.ready().catch((err: unknown): Readiness => ({
		ready: false,
		missing: [String((err as Error)?.message ?? err)],
	}));
	answer(res, readiness.ready ? 200 : 503, { ...readiness, nodeID: options.nodeID });
}

/** Listens on the health port; rejects when the port cannot be had. */
export function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
	const server = http.createServer((req, res) => {
		req.resume();
		void serveHealth(options, req, res);
	});
	// Probes come and go; an idle keep-alive socket must not hold a stop.
	server.keepAliveTimeout = 1000;
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(options.port, options.host, () => {
			server.off("error", reject);
			resolve({
				port: (server.address() as AddressInfo).port,
				close: () =>
					new Promise<void>(done => {
						server.close(() => done());
						server.closeAllConnections();
					}),
			});
		});
	});
}
