/**
 * Resource bounds of an all-in-one node, measured from outside: the node runs as a child
 * process and its resident memory (/proc/<pid>/status) is sampled while it is attacked by a
 * caller holding a valid key. Each attack answers its documented status, keeps the node under
 * 600 MB, and leaves it answering.
 *
 * - a 1.5 MB .tar.gz holding a 1.5 GiB file uploaded as a TF.js model → 413 ARCHIVE_TOO_LARGE
 * - 24 connections that send 60 MiB of an infer body each and stall → 429 TOO_MANY_IN_FLIGHT
 *   for those past the key's budget (before reading), 408 BODY_TIMEOUT for the others
 * - 2,000 attempts to follow a training job's events on one key → 429 past the per-key limit
 * - a dataset upload's spill file lives under the data directory, is removed when the upload
 *   fails, and stale ones are removed at start
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { createPostgresDatabase } from "../support/databases";
import { NodeProcess, freePort } from "../support/node-process";
import { tarGzBomb } from "../support/archive-bomb";
import { RawRequest, postHead } from "../support/raw-http";
import { waitFor } from "../support/wait";

const KEY = "mf_resource-limits-owner-key";
const MiB = 1024 ** 2;
const RSS_LIMIT = 600 * 1e6;
const IRIS = path.join(__dirname, "..", "fixtures", "datasets", "iris.csv");
const IDLE_TIMEOUT_S = 2;
const STREAMS_PER_KEY = 16;

/** Peak resident memory of a process, sampled every 25 ms from /proc. */
class ChildRss {
	private peak = 0;
	private readonly timer: NodeJS.Timeout;

	constructor(private readonly pid: number) {
		this.timer = setInterval(() => this.sample(), 25);
	}

	current(): number {
		const status = fs.readFileSync(`/proc/${this.pid}/status`, "utf8");
		return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
	}

	/** The peak since the last reset, then starts again from now. */
	reset(): number {
		this.sample();
		const peak = this.peak;
		this.peak = this.current();
		return peak;
	}

	stop(): void {
		clearInterval(this.timer);
	}

	private sample(): void {
		try {
			this.peak = Math.max(this.peak, this.current());
		} catch {
			// the process is gone; the test sees it elsewhere
		}
	}
}

describe("resource bounds of an all-in-one node (child process)", () => {
	let node: NodeProcess;
	let base: string;
	let port: number;
	let dataDir: string;
	let rss: ChildRss;
	let database: { url: string; drop(): Promise<void> };
	const figures: string[] = [];

	const auth = { authorization: `Bearer ${KEY}` };
	const api = async (url: string, init: RequestInit = {}) => {
		const response = await fetch(`${base}${url}`, {
			...init,
			headers: { ...auth, ...(init.headers as Record<string, string>) },
		});
		return {
			status: response.status,
			body: (await response.json()) as Record<string, unknown>,
		};
	};
	const json = (body: unknown): RequestInit => ({
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify(body),
	});

	/** The node still answers, and a follow-up request succeeds. */
	async function stillServes(): Promise<void> {
		expect(node.child.exitCode).toBeNull();
		expect((await api("/api/v1/models")).status).toBe(200);
	}

	function measured(what: string): number {
		const peak = rss.reset();
		figures.push(`${what}: peak RSS ${Math.round(peak / 1e6)} MB`);
		return peak;
	}

	beforeAll(async () => {
		port = await freePort();
		// PostgreSQL rather than the embedded PGlite: the node's own memory is what is measured.
		database = await createPostgresDatabase();
		base = `http://127.0.0.1:${port}`;
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "modelfleet-limits-"));
		// A spill file a crash left behind: the node removes it at start.
		fs.mkdirSync(path.join(dataDir, "spill"));
		fs.writeFileSync(path.join(dataDir, "spill", "mf-dataset-stale"), "a,b\n1,2\n");
		node = NodeProcess.start("all-in-one", "all-in-one", {
			HOST: "127.0.0.1",
			PORT: String(port),
			MODELFLEET_DATA_DIR: dataDir,
			MODELFLEET_BOOTSTRAP_KEY: KEY,
			DATABASE_URL: database.url,
			METRICS_PORT: "off",
			LOG_LEVEL: "warn",
			MODELFLEET_GPUS: "none",
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_STATUS_INTERVAL_MS: "200",
			MODELFLEET_RECONCILE_INTERVAL_MS: "100",
			MODELFLEET_BODY_IDLE_TIMEOUT_S: String(IDLE_TIMEOUT_S),
		});
		await waitFor(
			"the node to be ready",
			async () => {
				if (node.child.exitCode !== null) throw new Error(`exited:\n${node.log}`);
				const response = await fetch(`${base}/health/ready`);
				return response.status === 200 ? true : undefined;
			},
			60_000,
			200,
		).catch((err: Error) => {
			throw new Error(`${err.message}\n${node.log}`);
		});
		rss = new ChildRss(node.pid);
		figures.push(`ready: RSS ${Math.round(rss.current() / 1e6)} MB`);
	}, 90_000);

	afterAll(async () => {
		rss?.stop();
		node?.kill("SIGKILL");
		await node?.exited;
		await database?.drop();
		fs.rmSync(dataDir, { recursive: true, force: true });
		console.log(`resource limits:\n  ${figures.join("\n  ")}`);
	});

	it("empties the spill folder at start", () => {
		expect(fs.readdirSync(path.join(dataDir, "spill"))).toEqual([]);
	});

	it("refuses a 1.5 GiB archive bomb (1.5 MB .tar.gz) with 413 and stays under 600 MB", async () => {
		expect(
			(
				await api(
					"/api/v1/models",
					json({ name: "bomb", task: "regression", framework: "tfjs" }),
				)
			).status,
		).toBe(201);
		const bomb = tarGzBomb(1536 * MiB, [
			{
				name: "model.json",
				data: JSON.stringify({ modelTopology: {}, weightsManifest: [] }),
			},
		]);
		expect(bomb.length).toBeLessThan(2 * MiB);
		rss.reset();
		const reply = await api(
			"/api/v1/models/bomb/versions/upload?format=tfjs&version=1.0.0&fileName=bomb.tar.gz",
			{
				method: "POST",
				headers: { "content-type": "application/octet-stream" },
				body: bomb,
			},
		);
		expect(reply.status).toBe(413);
		expect(reply.body).toMatchObject({
			type: "ARCHIVE_TOO_LARGE",
			data: { setting: "MODELFLEET_MAX_ARCHIVE_BYTES" },
		});
		expect(measured("archive bomb")).toBeLessThan(RSS_LIMIT);
		await stillServes();
	}, 60_000);

	it("answers 24 stalled 60 MiB infer bodies with 429 past the key's budget and 408 after the idle timeout, under 600 MB", async () => {
		rss.reset();
		const requests = Array.from(
			{ length: 24 },
			() =>
				new RawRequest(
					port,
					postHead("/v2/models/anything/infer", {
						authorization: `Bearer ${KEY}`,
						"content-type": "application/json",
						"content-length": 60 * MiB + 1,
					}),
				),
		);
		// Each sends 60 MiB (stopping early if answered) and then nothing more.
		await Promise.all(requests.map(r => r.send(60 * MiB)));
		const started = Date.now();
		const answers = await Promise.all(requests.map(r => r.answer));
		const statuses = answers.map(a => a.status).sort();
		// 128 MiB per key: two 60 MiB bodies are read, the rest refused before reading.
		expect(statuses.filter(s => s === 429)).toHaveLength(22);
		expect(statuses.filter(s => s === 408)).toHaveLength(2);
		expect(Date.now() - started).toBeLessThan((IDLE_TIMEOUT_S + 3) * 1000);
		const refused = answers.find(a => a.status === 429);
		expect(refused?.headers["retry-after"]).toBeDefined();
		expect(JSON.parse(refused?.body ?? "{}")).toMatchObject({
			error: expect.stringMatching(/MODELFLEET_KEY_IN_FLIGHT_BYTES/),
		});
		for (const r of requests) r.destroy();
		expect(measured("24 stalled 60 MiB bodies")).toBeLessThan(RSS_LIMIT);
		await stillServes();
	}, 60_000);

	it("keeps a dataset upload's spill file under the data directory and removes it when the upload fails", async () => {
		const spill = path.join(dataDir, "spill");
		const request = new RawRequest(
			port,
			postHead("/api/v1/datasets?name=stalled&labelColumn=label", {
				authorization: `Bearer ${KEY}`,
				"content-type": "text/csv",
				"content-length": 10 * MiB,
			}),
		);
		request.socket.write("a,b,label\n" + "1,2,x\n".repeat(2000));
		const spilled = await waitFor(
			"a spill file",
			() => fs.readdirSync(spill).find(name => name.startsWith("mf-dataset-")),
			5000,
		);
		expect(spilled).toBeDefined();
		// It stalls: the idle timeout drops it, and the spill file goes with it.
		expect((await request.answer).status).toBe(408);
		await waitFor(
			"the spill file removed",
			() => fs.readdirSync(spill).length === 0 || undefined,
			5000,
		);
		request.destroy();
	}, 30_000);

	it("opens at most MODELFLEET_MAX_STREAMS_PER_KEY event streams per key: 2,000 attempts, 429 past it, under 600 MB", async () => {
		const csv = fs.readFileSync(IRIS);
		const dataset = await api("/api/v1/datasets?name=iris&labelColumn=label", {
			method: "POST",
			headers: { "content-type": "text/csv" },
			body: csv,
		});
		expect(dataset.status).toBe(201);
		await api(
			"/api/v1/models",
			json({ name: "iris", task: "classification", framework: "tfjs" }),
		);
		// A GPU job on a node without one stays queued: its event stream stays open.
		const job = await api(
			"/api/v1/training-jobs",
			json({
				target: "iris",
				dataset: "iris@1",
				labelColumn: "label",
				resources: { gpu: true },
			}),
		);
		expect(job.status).toBe(201);
		const url = `${base}/api/v1/training-jobs/${job.body.id as string}/events`;

		rss.reset();
		const open: http.ClientRequest[] = [];
		const attempt = () =>
			new Promise<number>((resolve, reject) => {
				const request = http.get(url, { headers: auth, agent: false }, response => {
					if (response.statusCode === 200) open.push(request);
					else response.resume();
					resolve(response.statusCode ?? 0);
				});
				request.on("error", reject);
			});
		const statuses: number[] = [];
		for (let batch = 0; batch < 10; batch++)
			statuses.push(...(await Promise.all(Array.from({ length: 200 }, attempt))));
		expect(statuses.filter(s => s === 200)).toHaveLength(STREAMS_PER_KEY);
		expect(statuses.filter(s => s === 429)).toHaveLength(2000 - STREAMS_PER_KEY);
		expect(measured("2,000 event stream attempts")).toBeLessThan(RSS_LIMIT);

		// Streams that close free their places.
		for (const request of open) request.destroy();
		await waitFor(
			"a stream place to free",
			async () => ((await attempt()) === 200 ? true : undefined),
			5000,
		);
		for (const request of open) request.destroy();
		await stillServes();
	}, 90_000);
});
