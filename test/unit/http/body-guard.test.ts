import * as http from "node:http";
import * as zlib from "node:zlib";
import type { AddressInfo } from "node:net";
import { PayloadTooLargeError } from "../../../lib/errors";
import { BodyGuard } from "../../../lib/http/body-guard";
import { ByteBudget } from "../../../lib/http/byte-budget";
import { restError } from "../../../lib/http/error-response";
import { bodyEncoding, readEncodedBody } from "../../../lib/http/content-encoding";
import { RawRequest, postHead } from "../../support/raw-http";
import { waitFor } from "../../support/wait";

const KiB = 1024;

describe("BodyGuard", () => {
	let server: http.Server;
	let port: number;
	let budget: ByteBudget;
	let guard: BodyGuard;

	beforeEach(async () => {
		budget = new ByteBudget({ perKeyBytes: 100 * KiB, totalBytes: 150 * KiB });
		guard = new BodyGuard({
			budget,
			// Long enough that a loaded 2-core machine does not time out a body the test keeps open.
			idleTimeoutMs: 1500,
			classify: req =>
				req.url === "/upload"
					? {
							buffered: false,
							maxBytes: 1000 * KiB,
							tooLarge: () => new PayloadTooLargeError(1000 * KiB),
						}
					: { buffered: true, maxBytes: 90 * KiB },
			callerKey: req => String(req.headers["x-key"]),
			writeError: (req, res, err) =>
				restError.call({ logger: { error: () => undefined } }, req, res, err),
			retryAfterMs: 2000,
		});
		server = http.createServer((req, res) => {
			if (!guard.admit(req, res)) return;
			const reading =
				req.url === "/upload"
					? new Promise<number>((resolve, reject) => {
							let n = 0;
							req.on("data", (c: Buffer) => (n += c.length));
							req.on("end", () => resolve(n));
							req.on("error", reject);
						})
					: readEncodedBody(req, bodyEncoding(req.headers["content-encoding"]), {
							limitBytes: 90 * KiB,
							limitSetting: "LIMIT",
							contentLength: req.headers["content-length"],
						}).then(body => body.length);
			reading.then(
				n => {
					if (!res.headersSent) res.end(JSON.stringify({ n }));
				},
				(err: unknown) =>
					restError.call({ logger: { error: () => undefined } }, req, res, err),
			);
		});
		await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
		port = (server.address() as AddressInfo).port;
	});

	afterEach(async () => {
		guard.close();
		server.closeAllConnections();
		await new Promise(resolve => server.close(resolve));
	});

	const post = (path: string, key: string, headers: Record<string, string | number>) =>
		new RawRequest(port, postHead(path, { "x-key": key, ...headers }));

	it("counts what a compressed body inflates to against the budget, and gives it back", async () => {
		// 60 KiB each, sent as about 100 bytes of gzip: two at once pass the key's 100 KiB.
		const packed = zlib.gzipSync(Buffer.alloc(60 * KiB, 0x20));
		const first = post("/json", "a", {
			"content-length": packed.length,
			"content-encoding": "gzip",
		});
		// All but the trailer: the reader holds 60 KiB inflated, waiting for the end.
		first.socket.write(packed.subarray(0, packed.length - 8));
		await waitFor(
			"the first body inflated and counted",
			() => (budget.inFlight("a") >= 60 * KiB ? true : undefined),
			5000,
			10,
		);
		const second = post("/json", "a", {
			"content-length": packed.length,
			"content-encoding": "gzip",
		});
		second.socket.write(packed);
		expect(await second.answer).toMatchObject({ status: 429 });
		first.socket.write(packed.subarray(packed.length - 8));
		expect(await first.answer).toMatchObject({ status: 200, body: `{"n":${60 * KiB}}` });
		first.destroy();
		second.destroy();
		await Promise.all([first.closed, second.closed]);
		expect(budget.inFlight()).toBe(0);
	});

	it("reads bodies within the budget, and gives the bytes back after the answer", async () => {
		const request = post("/json", "a", { "content-length": 80 * KiB });
		await request.send(80 * KiB);
		expect(await request.answer).toMatchObject({ status: 200, body: `{"n":${80 * KiB}}` });
		request.destroy();
		await request.closed;
		expect(budget.inFlight()).toBe(0);
	});

	it("forgets a body once its response is done, not at the next idle check", async () => {
		// Checks run every 375 ms here: an entry kept until then holds its request and response
		// (at a busy gateway, long enough for V8 to move thousands of them to the old generation).
		const request = post("/json", "a", { "content-length": 10 * KiB });
		await request.send(10 * KiB);
		expect((await request.answer).status).toBe(200);
		await waitFor(
			"the guard to forget the body",
			() => (guard.bodiesInProgress === 0 ? true : undefined),
			100,
			5,
		);
		expect(budget.inFlight()).toBe(0);
		request.destroy();
	});

	it("refuses a declared length past the key's budget (429) or the total (503) before reading, with Retry-After", async () => {
		const first = post("/json", "a", { "content-length": 80 * KiB });
		await first.send(10 * KiB); // and stalls
		await new Promise(resolve => setTimeout(resolve, 50));
		const sameKey = post("/json", "a", { "content-length": 30 * KiB });
		expect(await sameKey.answer).toMatchObject({
			status: 429,
			headers: { "retry-after": "2" },
		});
		expect(JSON.parse((await sameKey.answer).body)).toMatchObject({
			type: "TOO_MANY_IN_FLIGHT",
			data: { setting: "MODELFLEET_KEY_IN_FLIGHT_BYTES", limit: 100 * KiB },
		});
		const otherKey = post("/json", "b", { "content-length": 80 * KiB });
		const busy = await otherKey.answer;
		expect(busy.status).toBe(503);
		expect(JSON.parse(busy.body)).toMatchObject({
			type: "GATEWAY_BUSY",
			data: { setting: "MODELFLEET_IN_FLIGHT_BYTES" },
		});
		expect(budget.inFlight()).toBe(80 * KiB);
		for (const r of [first, sameKey, otherKey]) r.destroy();
	});

	it("counts a body without a length as it arrives, and answers as soon as it passes the budget", async () => {
		const first = post("/json", "a", { "content-length": 60 * KiB });
		await first.send(1 * KiB);
		const chunked = post("/json", "a", { "transfer-encoding": "chunked" });
		for (let i = 0; i < 10 && !chunked.isClosed; i++) {
			chunked.chunk(8 * KiB);
			await new Promise(resolve => setTimeout(resolve, 10));
		}
		const answer = await chunked.answer;
		expect(answer.status).toBe(429);
		// 60 KiB declared + at most 40 KiB counted: never more than the key's budget.
		expect(budget.inFlight("a")).toBeLessThanOrEqual(100 * KiB);
		first.destroy();
		chunked.destroy();
	});

	it("drops a body that stops sending: 408, then the connection closes", async () => {
		const request = post("/json", "a", { "content-length": 50 * KiB });
		await request.send(5 * KiB);
		const started = Date.now();
		const answer = await request.answer;
		expect(answer.status).toBe(408);
		expect(JSON.parse(answer.body)).toMatchObject({ type: "BODY_TIMEOUT" });
		await request.closed;
		expect(Date.now() - started).toBeGreaterThanOrEqual(250);
		await new Promise(resolve => setTimeout(resolve, 20));
		expect(budget.inFlight()).toBe(0);
		expect(guard.bodiesInProgress).toBe(0);
	});

	it("drops a stalled upload too, which is not counted against the budget", async () => {
		const request = post("/upload", "a", { "content-length": 500 * KiB });
		await request.send(200 * KiB);
		expect(budget.inFlight()).toBe(0);
		expect((await request.answer).status).toBe(408);
	});

	it("refuses an upload whose declared length passes its limit before reading it (413)", async () => {
		const request = post("/upload", "a", { "content-length": 3 * 1024 ** 3 });
		const answer = await request.answer;
		expect(answer.status).toBe(413);
		expect(JSON.parse(answer.body)).toMatchObject({ type: "PAYLOAD_TOO_LARGE" });
		request.destroy();
	});

	it("leaves a declared length past the route's own limit to the route (its 413), uncounted", async () => {
		const request = post("/json", "a", { "content-length": 95 * KiB });
		const answer = await request.answer;
		expect(answer.status).toBe(413);
		expect(JSON.parse(answer.body)).toMatchObject({ type: "REQUEST_TOO_LARGE" });
		request.destroy();
	});
});
