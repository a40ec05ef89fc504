/**
 * Monitoring over the real stores, on both engines: captured traffic in day partitions, drift
 * windows against a training set's report, live accuracy from ground truth, health, retention
 * and tenancy — with the fleet (registry, deployments, events) as fakes behind the ports.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { sql } from "drizzle-orm";
import { tenants } from "../../../lib/db/schema";
import { InvalidInputError } from "../../../lib/errors";
import type { DatasetReport } from "../../../lib/datasets/dataset-report";
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { quantilesOf } from "../../../lib/monitoring/baseline";
import type { CapturedPrediction } from "../../../lib/monitoring/capture";
import { CaptureBatchWriter } from "../../../lib/monitoring/capture-batch";
import { CaptureStore } from "../../../lib/monitoring/capture-store";
import { predictionKey } from "../../../lib/monitoring/prediction-key";
import type { DriftReport } from "../../../lib/monitoring/drift";
import { FeedbackStore } from "../../../lib/monitoring/feedback-store";
import {
	Monitor,
	type DriftDetectedEvent,
	type HealthCheckEvent,
	type MonitoredDeployment,
	type PerformanceDegradedEvent,
} from "../../../lib/monitoring/monitor";
import { resolveMonitoring } from "../../../lib/monitoring/monitoring-spec";
import { WindowStore } from "../../../lib/monitoring/window-store";
import { describeOnEachEngine } from "../../support/databases";

const FEATURES = ["f0", "f1", "f2", "f3", "f4", "f5"];
const MEANS = [0, 5, -3, 10, 0.5, 100];
const STDS = [1, 2, 0.5, 3, 1, 15];
const CLASSES = ["a", "b", "c"];

function normal(random: SeededRandom): number {
	const u = 1 - random.next();
	return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

function trainingReport(random: SeededRandom, rows = 5000): DatasetReport {
	return {
		sha256: "a".repeat(64),
		bytes: 0,
		rows,
		warnings: [],
		label: {
			column: "y",
			type: "categorical",
			classes: CLASSES.map(value => ({ value, count: rows / 3, fraction: 1 / 3 })),
			imbalanceRatio: 1,
		},
		columns: [
			...FEATURES.map((name, i) => {
				const values = Array.from(
					{ length: rows },
					() => MEANS[i] + STDS[i] * normal(random),
				).sort((a, b) => a - b);
				return {
					name,
					type: "numeric" as const,
					missing: 0,
					min: values[0],
					max: values[rows - 1],
					mean: MEANS[i],
					std: STDS[i],
					distinct: null,
					quantiles: quantilesOf(values),
				};
			}),
			{
				name: "y",
				type: "categorical" as const,
				missing: 0,
				categories: CLASSES.map(value => ({ value, count: rows / 3 })),
			},
		],
	};
}

/** The class a captured answer gave: its largest probability. */
function answeredClass(c: CapturedPrediction): number {
	const p = Array.from(c.outputs![0].data as Float32Array);
	return p.indexOf(Math.max(...p));
}

describeOnEachEngine("Monitor", database => {
	const random = new SeededRandom(2026);
	let tenant: string;
	let other: string;
	let monitor: Monitor;
	let now = Date.UTC(2026, 11, 5, 12);
	const drifts: DriftDetectedEvent[] = [];
	const degradations: PerformanceDegradedEvent[] = [];
	const health: HealthCheckEvent[] = [];
	let deployment: MonitoredDeployment;
	let seq = 0;

	/** One batch-1 prediction per row, `shift` standard deviations off on the features named. */
	function traffic(
		rows: number,
		shift: Record<string, number> = {},
		tenantId = tenant,
	): CapturedPrediction[] {
		return Array.from({ length: rows }, () => {
			now += 100;
			const input = FEATURES.map(
				(name, i) => MEANS[i] + STDS[i] * (normal(random) + (shift[name] ?? 0)),
			);
			const klass = random.int(3);
			const probabilities = [0.1, 0.1, 0.1];
			probabilities[klass] = 0.8;
			return {
				predictionId: `p${++seq}`,
				tenant: tenantId,
				model: "iris",
				version: "1.0.0",
				at: now,
				latencyMs: 2 + random.next(),
				rows: 1,
				// As the serving node sends them: the request's tensor (FP64 here) and the answer's.
				inputs: [
					{ name: "x", datatype: "FP64", shape: [1, 6], data: Float64Array.from(input) },
				],
				outputs: [
					{
						name: "probabilities",
						datatype: "FP32",
						shape: [1, 3],
						data: Float32Array.from(probabilities),
					},
				],
				error: null,
			};
		});
	}

	beforeAll(async () => {
		const db = database().db;
		tenant = randomUUID();
		other = randomUUID();
		await db.insert(tenants).values([
			{ id: tenant, name: `monitor-${tenant.slice(0, 8)}` },
			{ id: other, name: `monitor-${other.slice(0, 8)}` },
		]);
		const report = trainingReport(random);
		deployment = {
			tenantId: tenant,
			model: "iris",
			monitoring: resolveMonitoring({ captureRate: 1, windowRows: 500, latencySloMs: 50 }),
		};
		monitor = new Monitor(
			{
				captures: new CaptureStore(database()),
				feedback: new FeedbackStore(db),
				windows: new WindowStore(db),
			},
			{
				deployments: async () => [deployment],
				task: async () => "classification",
				version: async () => ({
					labels: CLASSES,
					metrics: [{ name: "accuracy", value: 0.95, dataset: { split: "test" } }],
					features: FEATURES,
					inputs: [
						{
							name: "x",
							datatype: "FP64",
							shape: [-1, 6],
							features: FEATURES.map(name => ({ name })),
						},
					],
					trainingDataset: "a".repeat(64),
				}),
				dataset: async (_tenant, ref) =>
					ref === "a".repeat(64) ? { ref: "train@1", report } : null,
				driftDetected: e => drifts.push(e),
				performanceDegraded: e => degradations.push(e),
				healthChecked: e => health.push(e),
				now: () => now,
				warn: message => {
					throw new Error(message);
				},
			},
		);
	});

	it("flags at most 1 of 20 windows of traffic from the training distribution", async () => {
		for (let w = 0; w < 20; w++) await monitor.ingest(traffic(500));
		await monitor.pass();
		const windows = await monitor.windows(tenant, "iris", "drift", 100);
		expect(windows).toHaveLength(20);
		expect(windows.every(w => w.rows === 500)).toBe(true);
		expect(windows.filter(w => w.status === "drift").length).toBeLessThanOrEqual(1);
		expect(drifts.length).toBeLessThanOrEqual(1);
	});

	it("flags a 1-std shift of 3 features in the first full window, those 3 ranked top, and emits it", async () => {
		drifts.length = 0;
		await monitor.ingest(traffic(499, { f1: 1, f3: -1, f5: 1 }));
		await monitor.pass();
		// Not full yet: no window, no event.
		expect(await monitor.windows(tenant, "iris", "drift", 100)).toHaveLength(20);
		await monitor.ingest(traffic(1, { f1: 1, f3: -1, f5: 1 }));
		await monitor.pass();
		const [first] = await monitor.windows(tenant, "iris", "drift", 1);
		expect(first.status).toBe("drift");
		const report = first.report as DriftReport & { baseline: string };
		expect(report.baseline).toBe("dataset train@1");
		expect(
			report.features
				.slice(0, 3)
				.map(f => f.name)
				.sort(),
		).toEqual(["f1", "f3", "f5"]);
		expect(drifts).toHaveLength(1);
		expect(drifts[0]).toMatchObject({ tenant, model: "iris", windowId: first.id, rows: 500 });
		expect([...drifts[0].drifted].sort()).toEqual(["f1", "f3", "f5"]);
	});

	it("stores tensors of every kind as they were sent", async () => {
		const captures = new CaptureStore(database());
		const [one] = traffic(1);
		const tensors = [
			{ name: "f", datatype: "FP32", shape: [1, 2], data: Float32Array.of(3.1, -0.5) },
			{ name: "i", datatype: "INT64", shape: [1, 1], data: BigInt64Array.of(7n) },
			{ name: "s", datatype: "BYTES", shape: [1, 1], data: ["red"] },
		];
		await captures.insert([{ ...one, predictionId: "kinds", inputs: tensors }]);
		const [back] = await captures.byPredictionIds(tenant, "iris", ["kinds"]);
		expect(back.inputs).toEqual([
			tensors[0],
			{ name: "i", datatype: "INT64", shape: [1, 1], data: BigInt64Array.of(7n) },
			tensors[2],
		]);
	});

	it("stores a batch as the bytes the node wrote, refuses malformed ones, and still reads NDJSON rows stored before 0014", async () => {
		const captures = new CaptureStore(database());
		const [one] = traffic(1);
		const writer = new CaptureBatchWriter();
		writer.append({ ...one, predictionId: "as-bytes" });
		await captures.insertBatches([{ tenant, model: "iris", payload: writer.bytes() }]);
		// Found by its id's key; the bytes in the row on PostgreSQL, in a file of their day
		// beside the database on an all-in-one node (PGlite).
		const key = predictionKey("as-bytes");
		const stored = await database().db.execute(
			sql`SELECT payload, payload_binary IS NOT NULL AS in_row, coalesce(length(payload_binary), payload_length) AS bytes, capture_count, row_count, prediction_ids, prediction_keys = ARRAY[${key}::bigint] AS keyed
				FROM prediction_captures WHERE prediction_keys && ARRAY[${key}::bigint]`,
		);
		expect((stored as unknown as { rows: unknown[] }).rows).toEqual([
			{
				payload: null,
				in_row: database().engine === "postgres",
				bytes: writer.size,
				capture_count: 1,
				row_count: 1,
				prediction_ids: [],
				keyed: true,
			},
		]);
		const [back] = await captures.byPredictionIds(tenant, "iris", ["as-bytes"]);
		// As sent, less the tenant (the row's), with the time as ISO text and the batch's seq.
		const expected: Record<string, unknown> = { ...one, predictionId: "as-bytes" };
		delete expected.tenant;
		expect(back).toEqual({ ...expected, at: new Date(one.at).toISOString(), seq: back.seq });

		const damaged = Buffer.from(writer.bytes());
		damaged.writeUInt32LE(9999, 4);
		await expect(
			captures.insertBatches([
				{ tenant, model: "iris", payload: writer.bytes() },
				{ tenant, model: "iris", payload: damaged },
			]),
		).rejects.toThrow(InvalidInputError);
		expect(await captures.byPredictionIds(tenant, "iris", ["as-bytes"])).toHaveLength(1);

		// A row as 0009 stored it: NDJSON, tensors as the base64 of their bytes.
		const line = JSON.stringify({
			predictionId: "legacy",
			model: "iris",
			version: "1.0.0",
			at: new Date(one.at).toISOString(),
			latencyMs: 1.5,
			rows: 1,
			inputs: [
				{
					name: "x",
					datatype: "FP64",
					shape: [1, 2],
					b64: Buffer.from(Float64Array.of(1.5, -2).buffer).toString("base64"),
				},
			],
			outputs: [{ name: "label", datatype: "BYTES", shape: [1, 1], data: ["a"] }],
			error: null,
		});
		await database().db.execute(
			sql`INSERT INTO prediction_captures (tenant_id, model, captured_at, last_at, capture_count, row_count, error_count, prediction_ids, payload)
				VALUES (${tenant}, 'iris', ${new Date(one.at).toISOString()}, ${new Date(one.at).toISOString()}, 1, 1, 0, ARRAY['legacy'], ${line})`,
		);
		// A row as 0014 stored it: its bytes in the row, its ids as text (no keys).
		const before0016 = new CaptureBatchWriter();
		before0016.append({ ...one, predictionId: "before-0016" });
		await database().db.execute(
			sql`INSERT INTO prediction_captures (tenant_id, model, captured_at, last_at, capture_count, row_count, error_count, prediction_ids, payload_binary)
				VALUES (${tenant}, 'iris', ${new Date(one.at).toISOString()}, ${new Date(one.at).toISOString()}, 1, 1, 0, ARRAY['before-0016'], ${before0016.bytes()})`,
		);
		const [found] = await captures.byPredictionIds(tenant, "iris", ["before-0016"]);
		expect(found).toEqual({
			...expected,
			predictionId: "before-0016",
			at: new Date(one.at).toISOString(),
			seq: found.seq,
		});
		const [legacy] = await captures.byPredictionIds(tenant, "iris", ["legacy"]);
		expect(legacy).toMatchObject({
			predictionId: "legacy",
			latencyMs: 1.5,
			inputs: [
				{ name: "x", datatype: "FP64", shape: [1, 2], data: Float64Array.of(1.5, -2) },
			],
			outputs: [{ name: "label", datatype: "BYTES", shape: [1, 1], data: ["a"] }],
		});
	});

	it("keeps captures in day partitions, and retention drops whole days", async () => {
		const captures = new CaptureStore(database());
		const yesterday = traffic(3).map(c => ({ ...c, at: c.at - 86_400_000 * 3 }));
		await captures.insert(yesterday);
		const days = await captures.partitions();
		expect(days).toContain(Date.UTC(2026, 11, 2));
		expect(days).toContain(Date.UTC(2026, 11, 5));
		// Payloads and keys are stored uncompressed (compressing them cost more than storing them).
		const storage = await database().db.execute(
			sql`SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'prediction_captures_20261202'::regclass AND attname IN ('payload', 'payload_binary', 'prediction_keys') ORDER BY attname`,
		);
		expect((storage as unknown as { rows: unknown[] }).rows).toEqual([
			{ attname: "payload", attstorage: "e" },
			{ attname: "payload_binary", attstorage: "e" },
			{ attname: "prediction_keys", attstorage: "e" },
		]);
		// A day's keys index keeps a short pending list (no long merge on an insert).
		const keys = await database().db.execute(
			sql`SELECT i.reloptions FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
				WHERE x.indrelid = 'prediction_captures_20261202'::regclass AND a.attname = 'prediction_keys'`,
		);
		expect((keys as unknown as { rows: unknown[] }).rows).toEqual([
			{ reloptions: ["gin_pending_list_limit=64"] },
		]);
		const files = database().localDir && path.join(database().localDir!, "captures");
		if (files) expect(fs.readdirSync(files)).toContain("20261202.mfc");
		await monitor.retain(2);
		expect(await captures.partitions()).not.toContain(Date.UTC(2026, 11, 2));
		expect(
			(await captures.byPredictionIds(tenant, "iris", [yesterday[0].predictionId])).length,
		).toBe(0);
		// On an all-in-one node the day's payload file goes with its partition.
		if (files) {
			expect(fs.readdirSync(files)).not.toContain("20261202.mfc");
			expect(fs.readdirSync(files)).toContain("20261205.mfc");
		}
	});

	it("computes live accuracy windows exactly, and emits model.performance_degraded at 30 % wrong labels", async () => {
		const served = traffic(200);
		await monitor.ingest(served);
		// The model answered the class of its largest probability; a correct label for 200 rows.
		const answered = served.map(c => CLASSES[answeredClass(c)]);
		const correct = await monitor.feedback(
			tenant,
			"iris",
			served.map((c, i) => ({ id: c.predictionId, label: answered[i] })),
		);
		expect(correct).toEqual({ accepted: 200, unknown: [] });
		await monitor.performancePass(deployment);
		const [healthy] = await monitor.windows(tenant, "iris", "performance", 1);
		expect(healthy).toMatchObject({ status: "ok", rows: 200 });
		expect((healthy.report as { metrics: { accuracy: number } }).metrics.accuracy).toBe(1);
		expect(degradations).toHaveLength(0);

		const next = traffic(200);
		await monitor.ingest(next);
		const flipped = new SeededRandom(30);
		const labels = next.map(c => {
			const index = answeredClass(c);
			return CLASSES[flipped.next() < 0.3 ? (index + 1) % 3 : index];
		});
		await monitor.feedback(
			tenant,
			"iris",
			next.map((c, i) => ({ id: c.predictionId, label: labels[i] })),
		);
		await monitor.performancePass(deployment);
		const [degraded] = await monitor.windows(tenant, "iris", "performance", 1);
		// The independent computation: the share of rows whose label is the answered class.
		const expected =
			next.filter((c, i) => CLASSES[answeredClass(c)] === labels[i]).length / next.length;
		expect((degraded.report as { metrics: { accuracy: number } }).metrics.accuracy).toBe(
			expected,
		);
		expect(expected).toBeLessThan(0.8);
		expect(degraded.status).toBe("degraded");
		expect(degradations).toHaveLength(1);
		expect(degradations[0]).toMatchObject({
			tenant,
			model: "iris",
			version: "1.0.0",
			rows: 200,
		});
		expect(degradations[0].metrics.find(m => m.name === "accuracy")).toMatchObject({
			live: expected,
			reference: 0.95,
			degraded: true,
		});
	});

	it("answers other tenants' prediction ids as unknown, and scores health with its parts", async () => {
		const theirs = traffic(1, {}, other);
		await monitor.ingest(theirs);
		expect(
			await monitor.feedback(tenant, "iris", [{ id: theirs[0].predictionId, label: "a" }]),
		).toEqual({
			accepted: 0,
			unknown: [theirs[0].predictionId],
		});
		const score = await monitor.healthPass(deployment);
		expect(score.parts.map(p => p.name)).toEqual(["errors", "latency", "drift", "accuracy"]);
		// The last drift window drifted and the last accuracy window is degraded: not healthy.
		expect(score.score).toBeLessThan(80);
		expect(health.at(-1)).toMatchObject({ tenant, model: "iris", score: score.score });
		const [stored] = await monitor.windows(tenant, "iris", "health", 1);
		expect(stored.report).toEqual(score);
	});
});
