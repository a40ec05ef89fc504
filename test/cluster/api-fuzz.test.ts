/**
 * The attacker's fuzz test: seeded hostile requests across every route family, with keys of
 * each role, another tenant's key and no key (test/support/fuzz/api-fuzzer.ts), against an
 * all-in-one node and against a fleet (gateway, control and worker as separate processes over
 * the real NATS server). Passes only with no answer ≥ 500, no request left unanswered, no
 * process dead, and a good prediction still right afterwards. The counts are printed.
 *
 * Reproduce with MODELFLEET_FUZZ_SEED=<seed>; MODELFLEET_FUZZ_COUNT=<n> sets the requests per
 * target (default 10,000 each, 20,000 in all); MODELFLEET_FUZZ_REPORT=<path prefix> writes every
 * failing request to a file per target.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { SeededRandom } from "../../lib/datasets/seeded-random";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { ApiFuzzer, type FuzzRequest, type FuzzWorld } from "../support/fuzz/api-fuzzer";
import { CLOSE_CONNECTION, buildFuzzWorld } from "../support/fuzz/fuzz-world";
import { runFuzz, summarize } from "../support/fuzz/fuzz-runner";
import { NodeProcess, freePort } from "../support/node-process";
import { waitFor } from "../support/wait";
import { MLP_EXAMPLE } from "../unit/onnx/example-models";
import { seedPgliteDatabase } from "../support/pglite-template";

const SEED = Number(process.env.MODELFLEET_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env.MODELFLEET_FUZZ_COUNT ?? 10_000);
const CONCURRENCY = 8;
/** No answer within this is a hang (the slowest honest answer here is far below it). */
const HANG_MS = 20_000;
/** The model of the good prediction after the storm (the storm may change "mlp" itself). */
const SENTINEL = "sentinel";

function fuzzRequests(world: FuzzWorld, seed: number): FuzzRequest[] {
	const fuzzer = new ApiFuzzer(new SeededRandom(seed), world);
	return Array.from({ length: COUNT }, () => fuzzer.next());
}

/** A good prediction after the storm: the node still serves, and serves right. */
async function expectGoodPrediction(base: string, key: string): Promise<void> {
	const good = await fetch(`${base}/v2/models/${SENTINEL}/infer`, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
		body: JSON.stringify({
			id: "after",
			inputs: [{ name: "x", shape: [2, 4], datatype: "FP32", data: MLP_EXAMPLE.x }],
			outputs: [{ name: "logits" }],
		}),
	});
	expect(good.status).toBe(200);
	expect(await good.json()).toMatchObject({
		id: "after",
		outputs: [{ name: "logits", data: MLP_EXAMPLE.logits }],
	});
}

async function fuzzTarget(
	label: string,
	base: string,
	world: FuzzWorld,
	alive: () => string[],
): Promise<void> {
	const outcome = await runFuzz(fuzzRequests(world, SEED), {
		baseUrl: base,
		concurrency: CONCURRENCY,
		timeoutMs: HANG_MS,
	});
	console.log(summarize(label, SEED, outcome));
	// Every failing request, for whoever reproduces a red run.
	if (process.env.MODELFLEET_FUZZ_REPORT) {
		fs.writeFileSync(
			`${process.env.MODELFLEET_FUZZ_REPORT}.${label.replace(/\W+/g, "-")}.txt`,
			[...outcome.serverErrors, ...outcome.hangs, ...outcome.dropped].join("\n"),
		);
	}
	expect({
		seed: SEED,
		serverErrors: outcome.serverErrors.slice(0, 10),
		hangs: outcome.hangs.slice(0, 10),
		dropped: outcome.dropped.slice(0, 10),
		dead: alive(),
	}).toEqual({ seed: SEED, serverErrors: [], hangs: [], dropped: [], dead: [] });
	expect(outcome.sent).toBe(COUNT);
	// The mix reached the checks behind the door, not only the door.
	expect(outcome.statuses.get(200) ?? 0).toBeGreaterThan(COUNT / 50);
	expect(outcome.statuses.get(400) ?? 0).toBeGreaterThan(COUNT / 10);
	expect(outcome.statuses.get(404) ?? 0).toBeGreaterThan(0);
	expect(outcome.statuses.get(403) ?? 0).toBeGreaterThan(0);
	expect(outcome.statuses.get(401) ?? 0).toBeGreaterThan(0);
	await expectGoodPrediction(base, world.keys.owner);
}

/** Waits until the gateway at `base` answers an owner's request. */
function waitForGateway(base: string, ownerKey: string, what: string): Promise<unknown> {
	return waitFor(
		what,
		async () => {
			const reply = await fetch(`${base}/api/v1/tenant`, {
				headers: { authorization: `Bearer ${ownerKey}`, ...CLOSE_CONNECTION },
			});
			return reply.status === 200 ? true : undefined;
		},
		60_000,
		250,
	);
}

describeWithServices(["nats", "postgres"], "fuzzing every route as an attacker", () => {
	describe("an all-in-one node (its own process)", () => {
		const ownerKey = `mf_fuzz-${randomUUID()}`;
		const dataDir = `/tmp/mf-fuzz-aio-${randomUUID().slice(0, 8)}`;
		let node: NodeProcess;
		let base: string;
		let world: FuzzWorld;

		beforeAll(async () => {
			const port = await freePort();
			base = `http://127.0.0.1:${port}`;
			await seedPgliteDatabase(dataDir);
			node = NodeProcess.start("all-in-one", "all-in-one", {
				HOST: "127.0.0.1",
				PORT: String(port),
				METRICS_PORT: "off",
				LOG_LEVEL: "warn",
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_BOOTSTRAP_KEY: ownerKey,
				MODELFLEET_POOL_THREADS: "1",
				MODELFLEET_GPUS: "none",
			});
			await waitForGateway(base, ownerKey, "the all-in-one gateway").catch((err: Error) => {
				throw new Error(`${err.message}\n${node.log}`);
			});
			world = await buildFuzzWorld(base, ownerKey, { extraModels: [SENTINEL] });
		}, 90_000);

		afterAll(async () => {
			node?.kill("SIGKILL");
			await node?.exited;
			fs.rmSync(dataDir, { recursive: true, force: true });
		});

		it(`answers ${COUNT} hostile requests with no 5xx, no hang and no crash`, async () => {
			await fuzzTarget("fuzz all-in-one", base, world, () =>
				node.child.exitCode === null && node.child.signalCode === null
					? []
					: [node.log.slice(-3000)],
			);
		}, 300_000);
	});

	describe("a fleet over NATS (gateway, control, worker)", () => {
		const ownerKey = `mf_fuzz-${randomUUID()}`;
		const cluster = new FleetProcesses("fuzz", FAST_LOOPS);
		let database: { url: string; drop(): Promise<void> };
		let base: string;
		let world: FuzzWorld;

		beforeAll(async () => {
			database = await createPostgresDatabase();
			base = await cluster.startBasicFleet({ ownerKey, databaseUrl: database.url });
			await waitForGateway(base, ownerKey, "the fleet's gateway").catch(cluster.failWithLogs);
			world = await buildFuzzWorld(base, ownerKey, { extraModels: [SENTINEL] }).catch(
				cluster.failWithLogs,
			);
		}, 120_000);

		afterAll(async () => {
			await cluster.killAll();
			await database?.drop();
		});

		it(`answers ${COUNT} hostile requests with no 5xx, no hang and no process down`, async () => {
			await fuzzTarget("fuzz fleet", base, world, () =>
				cluster.processes
					.filter(p => p.child.exitCode !== null || p.child.signalCode !== null)
					.map(p => `${p.name}: ${p.log.slice(-3000)}`),
			);
		}, 400_000);
	});
});
