import { startHealthServer, type HealthServer } from "../../../lib/health/health-server";
import type { Readiness } from "../../../lib/health/readiness";

describe("startHealthServer", () => {
	let server: HealthServer;
	let readiness: Readiness = { ready: false, missing: ["predictor"] };
	const get = async (path: string, method = "GET") => {
		const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
		return { status: response.status, body: (await response.json()) as unknown };
	};

	beforeAll(async () => {
		server = await startHealthServer({
			host: "127.0.0.1",
			port: 0,
			nodeID: "worker-1",
			ready: () => Promise.resolve(readiness),
		});
	});

	afterAll(() => server.close());

	it("answers live while the process answers", async () => {
		expect(await get("/health/live")).toEqual({
			status: 200,
			body: { status: "live", nodeID: "worker-1" },
		});
	});

	it("answers 503 naming what is missing, then 200 once nothing is", async () => {
		expect(await get("/health/ready")).toEqual({
			status: 503,
			body: { ready: false, missing: ["predictor"], nodeID: "worker-1" },
		});
		readiness = { ready: true, missing: [] };
		expect(await get("/health/ready?verbose")).toEqual({
			status: 200,
			body: { ready: true, missing: [], nodeID: "worker-1" },
		});
	});

	it("answers nothing else", async () => {
		expect((await get("/metrics")).status).toBe(404);
		expect((await get("/health/live", "POST")).status).toBe(405);
	});

	it("refuses a port already taken", async () => {
		await expect(
			startHealthServer({
				host: "127.0.0.1",
				port: server.port,
				nodeID: "x",
				ready: () => Promise.resolve(readiness),
			}),
		).rejects.toThrow(/EADDRINUSE/);
	});
});

describe("startHealthServer with metrics", () => {
	/** A ready node's health server whose /metrics answers what `metrics` gives. */
	const withMetrics = (metrics: () => Promise<{ contentType: string; body: string }>) =>
		startHealthServer({
			host: "127.0.0.1",
			port: 0,
			nodeID: "worker-1",
			ready: () => Promise.resolve({ ready: true, missing: [] }),
			metrics,
		});

	it("answers GET /metrics with the exposition text and its content type", async () => {
		const server = await withMetrics(() =>
			Promise.resolve({
				contentType: "text/plain; version=0.0.4; charset=utf-8",
				body: "# HELP up_total x\n# TYPE up_total counter\nup_total 1\n",
			}),
		);
		try {
			const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
			expect(response.status).toBe(200);
			expect(response.headers.get("content-type")).toBe(
				"text/plain; version=0.0.4; charset=utf-8",
			);
			expect(await response.text()).toMatch(/^up_total 1$/m);
			const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: "POST" });
			expect(post.status).toBe(405);
			await post.text();
		} finally {
			await server.close();
		}
	});

	it("answers 500 naming the failure when the metrics cannot be gathered, and stays up", async () => {
		let fail = true;
		const server = await withMetrics(() =>
			fail
				? Promise.reject(new Error("a collector broke"))
				: Promise.resolve({ contentType: "text/plain", body: "up_total 1\n" }),
		);
		try {
			const response = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
				signal: AbortSignal.timeout(5000),
			});
			expect(response.status).toBe(500);
			expect(await response.json()).toEqual({
				error: "The metrics could not be gathered: a collector broke",
			});
			fail = false;
			expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(200);
		} finally {
			await server.close();
		}
	});
});
