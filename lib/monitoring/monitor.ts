/**
 * Monitoring of deployed models over the stores: takes captured predictions in, joins ground
 * truth to them, and in each pass (on the acting scheduler) closes drift windows over the
 * captures, live-accuracy windows over the feedback, and scores each deployment's health —
 * emitting `model.drift_detected`, `model.performance_degraded` and `model.health_check`.
 * The fleet is reached through ports (the registry's versions and datasets, the deployments,
 * the event bus), so the whole of it runs in a unit test over an in-process database.
 */
import type { DatasetReport } from "../datasets/dataset-report";
import { NotFoundError } from "../errors";
import { baselineFromReport, type DriftBaseline } from "./baseline";
import { tensorRows, type CaptureBatch, type CapturedPrediction, type CaptureRow } from "./capture";
import type { TensorSpec } from "../model-spec/model-schema";
import type { CaptureStore, StoredBatch, StoredCapture } from "./capture-store";
import { driftOf, type DriftReport, type FeatureValues } from "./drift";
import type { FeedbackRow, FeedbackStore, StoredFeedback } from "./feedback-store";
import { healthScore, percentile, type HealthScore } from "./health-score";
import {
	classificationMetrics,
	compareWithReference,
	regressionMetrics,
	type MetricComparison,
} from "./live-metrics";
import type { DeploymentMonitoring } from "./monitoring-spec";
import { predictedValue, type Task } from "./predicted-value";
import { closedWindows } from "./windows";
import type { WindowStore, WindowView } from "./window-store";

export interface MonitoredDeployment {
	tenantId: string;
	model: string;
	monitoring: DeploymentMonitoring;
}

/** What monitoring needs of a version. */
export interface VersionFacts {
	labels: string[] | null;
	metrics: { name: string; value: number; dataset?: { split?: string } }[];
	/** Feature names the version takes (its inputs' tabular features). */
	features: string[];
	/** Its input tensors (their features name a captured row's columns). */
	inputs: TensorSpec[];
	/** The sha256 of the dataset it was trained on, when known. */
	trainingDataset: string | null;
}

export interface DriftDetectedEvent {
	tenant: string;
	model: string;
	windowId: number;
	rows: number;
	startedAt: string;
	endedAt: string;
	/** The drifted features, the largest PSI first. */
	drifted: string[];
	/** The three features with the largest PSI. */
	top: { name: string; psi: number; ks: number | null; pValue: number | null }[];
	predictionDrifted: boolean;
	baseline: string;
}

export interface PerformanceDegradedEvent {
	tenant: string;
	model: string;
	version: string;
	windowId: number;
	rows: number;
	metrics: MetricComparison[];
	margin: number;
}

export interface HealthCheckEvent extends HealthScore {
	tenant: string;
	model: string;
	at: string;
}

export interface MonitorPorts {
	deployments(): Promise<MonitoredDeployment[]>;
	/** The model's task (classification, regression…). */
	task(tenantId: string, model: string): Promise<Task>;
	version(tenantId: string, model: string, version: string): Promise<VersionFacts>;
	/** A dataset's report by `name[@version]` or sha256; null when there is none. */
	dataset(tenantId: string, ref: string): Promise<{ ref: string; report: DatasetReport } | null>;
	driftDetected(event: DriftDetectedEvent): void;
	performanceDegraded(event: PerformanceDegradedEvent): void;
	healthChecked(event: HealthCheckEvent): void;
	now(): number;
	warn(message: string): void;
}

export interface MonitorStores {
	captures: CaptureStore;
	feedback: FeedbackStore;
	windows: WindowStore;
}

export interface FeedbackItem {
	/** The prediction id an answer carried. */
	id: string;
	/** The row of that request (default 0). */
	row?: number;
	/** The true class or value. */
	label: string | number;
}

const NO_BASELINE =
	"No baseline: the version names no training dataset the registry has (or its inputs name no features), and the deployment sets no monitoring.referenceDataset.";

/** Live-accuracy windows close after this many labelled rows (or the deployment's windowRows, if smaller). */
const FEEDBACK_WINDOW_ROWS = 200;
/** Stored batches a drift pass reads at a time. */
const DRIFT_BATCHES = 200;
/** Health looks at this many of the newest captures. */
const HEALTH_CAPTURES = 1000;
/** Facts of versions and tasks are trusted this long, ms. */
const FACTS_TTL_MS = 60_000;

export class Monitor {
	private readonly facts = new Map<string, { at: number; value: Promise<unknown> }>();

	constructor(
		private readonly stores: MonitorStores,
		private readonly ports: MonitorPorts,
	) {}

	/** Stores captured predictions, as records. */
	ingest(captures: readonly CapturedPrediction[]): Promise<void> {
		return this.stores.captures.insert(captures);
	}

	/** Stores batches of captures as serving nodes send them (bytes, checked whole first). */
	ingestBatches(batches: readonly CaptureBatch[]): Promise<void> {
		return this.stores.captures.insertBatches(batches);
	}

	/**
	 * Ground truth for captured predictions: each item's prediction is looked up, what it
	 * answered kept beside the truth. Ids never captured (sampled out, unknown, expired) are
	 * answered back, not stored.
	 */
	async feedback(
		tenantId: string,
		model: string,
		items: readonly FeedbackItem[],
	): Promise<{ accepted: number; unknown: string[] }> {
		const captures = await this.stores.captures.byPredictionIds(tenantId, model, [
			...new Set(items.map(i => i.id)),
		]);
		const byId = new Map(captures.map(c => [c.predictionId, c]));
		const task = await this.task(tenantId, model);
		const rows: FeedbackRow[] = [];
		const unknown: string[] = [];
		for (const item of items) {
			const capture = byId.get(item.id);
			const row = item.row ?? 0;
			const outputs =
				capture?.outputs && row < capture.rows
					? tensorRows(capture.outputs, capture.rows)[row]
					: undefined;
			const facts = capture ? await this.version(tenantId, model, capture.version) : null;
			const predicted = outputs && facts ? predictedValue(outputs, task, facts.labels) : null;
			if (!capture || predicted === null) {
				unknown.push(item.id);
				continue;
			}
			rows.push({
				predictionId: item.id,
				rowIndex: row,
				version: capture.version,
				truth: item.label,
				predicted,
			});
		}
		await this.stores.feedback.upsert(tenantId, model, rows);
		return { accepted: rows.length, unknown };
	}

	/** A stored capture as the export shows it: rows by feature (the version's schema) and output. */
	async readable(
		tenantId: string,
		capture: StoredCapture,
	): Promise<
		Omit<StoredCapture, "inputs" | "outputs"> & {
			inputs: CaptureRow[] | null;
			outputs: CaptureRow[] | null;
		}
	> {
		const facts = capture.inputs
			? await this.version(tenantId, capture.model, capture.version).catch(() => null)
			: null;
		return {
			...capture,
			inputs: capture.inputs ? tensorRows(capture.inputs, capture.rows, facts?.inputs) : null,
			outputs: capture.outputs ? tensorRows(capture.outputs, capture.rows) : null,
		};
	}

	/** One pass over every deployment that captures: drift, live accuracy, health. */
	async pass(): Promise<void> {
		for (const d of await this.ports.deployments()) {
			if (d.monitoring.captureRate <= 0) continue;
			try {
				await this.driftPass(d);
				await this.performancePass(d);
				await this.healthPass(d);
			} catch (err) {
				this.ports.warn(`Monitoring ${d.model} failed: ${(err as Error).message}`);
			}
		}
	}

	/** The newest windows of a kind, newest first. */
	windows(
		tenantId: string,
		model: string,
		kind: "drift" | "performance" | "health",
		limit: number,
	): Promise<WindowView[]> {
		return this.stores.windows.latest(tenantId, model, kind, limit);
	}

	/** Closes every full drift window after the last one. */
	async driftPass(d: MonitoredDeployment): Promise<void> {
		const { monitoring } = d;
		if (!(await this.hasBaseline(d))) return;
		for (;;) {
			const [last] = await this.stores.windows.latest(d.tenantId, d.model, "drift", 1);
			const batches = await this.stores.captures.after(
				d.tenantId,
				d.model,
				last?.lastSeq ?? 0,
				DRIFT_BATCHES,
			);
			const windows = closedWindows(batches, monitoring, this.ports.now());
			if (windows.length === 0) return;
			for (const [start, end] of windows)
				await this.closeDriftWindow(d, batches.slice(start, end));
			if (batches.length < DRIFT_BATCHES) return;
		}
	}

	/**
	 * Whether the deployment's serving version has a baseline. Without one no window is cut
	 * (reading captures would buy nothing): one `no-baseline` window says why, covering the
	 * captures so far, and windows start after it once there is a baseline.
	 */
	private async hasBaseline(d: MonitoredDeployment): Promise<boolean> {
		const [newest] = await this.stores.captures.recent(d.tenantId, d.model, 1);
		if (!newest) return false;
		if (await this.baseline(d, newest.version)) return true;
		const [last] = await this.stores.windows.latest(d.tenantId, d.model, "drift", 1);
		if (last?.status !== "no-baseline")
			await this.stores.windows.append(d.tenantId, d.model, {
				kind: "drift",
				lastSeq: newest.seq,
				startedAt: new Date(newest.at),
				endedAt: new Date(newest.at),
				rows: 0,
				status: "no-baseline",
				report: { reason: NO_BASELINE },
			});
		return false;
	}

	private async closeDriftWindow(d: MonitoredDeployment, batches: StoredBatch[]): Promise<void> {
		// Failed predictions and requests too large to keep rows have no values to compare.
		const captures = batches
			.flatMap(b => b.captures)
			.filter(c => c.inputs !== null && c.error === null);
		const first = batches[0].captures[0];
		const last = batches[batches.length - 1].captures.at(-1) ?? first;
		const baseline = await this.baseline(d, last.version);
		const rows = captures.reduce((n, c) => n + c.rows, 0);
		const window = {
			kind: "drift" as const,
			lastSeq: batches[batches.length - 1].seq,
			startedAt: new Date(first.at),
			endedAt: new Date(last.at),
			rows,
		};
		if (!baseline) {
			await this.stores.windows.append(d.tenantId, d.model, {
				...window,
				status: "no-baseline",
				report: { reason: NO_BASELINE },
			});
			return;
		}
		const task = await this.task(d.tenantId, d.model);
		const facts = await this.version(d.tenantId, d.model, last.version);
		const report = driftOf(
			baseline,
			windowValues(baseline, captures, task, facts),
			d.monitoring.thresholds,
		);
		const stored = await this.stores.windows.append(d.tenantId, d.model, {
			...window,
			status: report.status,
			report: { ...report, baseline: baseline.source },
		});
		if (report.status === "drift")
			this.ports.driftDetected({
				tenant: d.tenantId,
				model: d.model,
				windowId: stored.id,
				rows,
				startedAt: stored.startedAt,
				endedAt: stored.endedAt,
				drifted: report.drifted,
				top: report.features
					.slice(0, 3)
					.map(f => ({ name: f.name, psi: f.psi, ks: f.ks, pValue: f.pValue })),
				predictionDrifted: report.prediction?.drifted ?? false,
				baseline: baseline.source,
			});
	}

	/** Closes every full live-accuracy window after the last one. */
	async performancePass(d: MonitoredDeployment): Promise<void> {
		const size = Math.min(FEEDBACK_WINDOW_ROWS, d.monitoring.windowRows);
		for (;;) {
			const [last] = await this.stores.windows.latest(d.tenantId, d.model, "performance", 1);
			const rows = await this.stores.feedback.after(
				d.tenantId,
				d.model,
				last?.lastSeq ?? 0,
				size,
			);
			if (rows.length < size) return;
			await this.closePerformanceWindow(d, rows);
		}
	}

	private async closePerformanceWindow(
		d: MonitoredDeployment,
		rows: StoredFeedback[],
	): Promise<void> {
		const task = await this.task(d.tenantId, d.model);
		const version = rows[rows.length - 1].version;
		const facts = await this.version(d.tenantId, d.model, version);
		const live = task === "regression" ? regressionMetrics(rows) : classificationMetrics(rows);
		const reference = testMetrics(facts.metrics);
		const compared = compareWithReference(live, reference, d.monitoring.accuracyMargin);
		const degraded = compared.some(c => c.degraded);
		const stored = await this.stores.windows.append(d.tenantId, d.model, {
			kind: "performance",
			lastSeq: rows[rows.length - 1].seq,
			startedAt: new Date(rows[0].receivedAt),
			endedAt: new Date(rows[rows.length - 1].receivedAt),
			rows: rows.length,
			status: degraded ? "degraded" : "ok",
			report: { version, task, metrics: live, compared, margin: d.monitoring.accuracyMargin },
		});
		if (degraded)
			this.ports.performanceDegraded({
				tenant: d.tenantId,
				model: d.model,
				version,
				windowId: stored.id,
				rows: rows.length,
				metrics: compared,
				margin: d.monitoring.accuracyMargin,
			});
	}

	/** Scores the deployment's health now, keeps it as a window and emits it. */
	async healthPass(d: MonitoredDeployment): Promise<HealthScore> {
		const recent = await this.stores.captures.recent(d.tenantId, d.model, HEALTH_CAPTURES);
		const [drift] = await this.stores.windows.latest(d.tenantId, d.model, "drift", 1);
		const [performance] = await this.stores.windows.latest(
			d.tenantId,
			d.model,
			"performance",
			1,
		);
		const answered = recent.filter(c => c.error === null).map(c => c.latencyMs);
		const slo = d.monitoring.latencySloMs;
		const driftReport =
			drift?.status === "drift" || drift?.status === "ok"
				? (drift.report as DriftReport)
				: null;
		const compared = performance
			? ((performance.report as { compared: MetricComparison[] }).compared ?? [])
			: null;
		const score = healthScore({
			requests:
				recent.length > 0
					? { total: recent.length, failed: recent.length - answered.length }
					: null,
			latency:
				slo !== null && answered.length > 0
					? { p95Ms: percentile(answered, 95), sloMs: slo }
					: null,
			drift: driftReport
				? {
						driftedShare:
							driftReport.drifted.length / Math.max(1, driftReport.features.length),
						status: driftReport.status,
					}
				: null,
			accuracy: compared
				? {
						worstDrop: Math.max(0, ...compared.map(c => c.drop)),
						degraded: compared.some(c => c.degraded),
					}
				: null,
		});
		const now = new Date(this.ports.now());
		await this.stores.windows.append(d.tenantId, d.model, {
			kind: "health",
			lastSeq: recent[0]?.seq ?? 0,
			startedAt: recent.length > 0 ? new Date(recent[recent.length - 1].at) : now,
			endedAt: now,
			rows: recent.length,
			status: score.status,
			report: score,
		});
		this.ports.healthChecked({
			tenant: d.tenantId,
			model: d.model,
			at: now.toISOString(),
			...score,
		});
		return score;
	}

	/** Drops captures, feedback and windows older than `days` days. */
	async retain(days: number): Promise<void> {
		const cutoff = this.ports.now() - days * 86_400_000;
		await this.stores.captures.dropBefore(cutoff);
		await this.stores.feedback.deleteBefore(new Date(cutoff));
		await this.stores.windows.deleteBefore(new Date(cutoff));
	}

	/** The baseline of a deployment's version: its reference dataset, else the training one. */
	private async baseline(d: MonitoredDeployment, version: string): Promise<DriftBaseline | null> {
		const facts = await this.version(d.tenantId, d.model, version);
		const ref = d.monitoring.referenceDataset ?? facts.trainingDataset;
		if (ref === null || facts.features.length === 0) return null;
		const dataset = await this.cached(`dataset\u0000${d.tenantId}\u0000${ref}`, () =>
			this.ports.dataset(d.tenantId, ref).catch((err: unknown) => {
				if (err instanceof NotFoundError) return null;
				throw err;
			}),
		);
		return dataset
			? baselineFromReport(dataset.report, facts.features, `dataset ${dataset.ref}`)
			: null;
	}

	private task(tenantId: string, model: string): Promise<Task> {
		return this.cached(`task\u0000${tenantId}\u0000${model}`, () =>
			this.ports.task(tenantId, model),
		);
	}

	private version(tenantId: string, model: string, version: string): Promise<VersionFacts> {
		return this.cached(`version\u0000${tenantId}\u0000${model}\u0000${version}`, () =>
			this.ports.version(tenantId, model, version),
		);
	}

	private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
		const now = this.ports.now();
		const known = this.facts.get(key);
		if (known && now - known.at < FACTS_TTL_MS) return known.value as Promise<T>;
		const value = load();
		this.facts.set(key, { at: now, value });
		value.catch(() => this.facts.delete(key));
		return value;
	}
}

/** The version's metrics measured on its test split (any metric when none says its split). */
function testMetrics(metrics: VersionFacts["metrics"]): VersionFacts["metrics"] {
	const test = metrics.filter(m => m.dataset?.split === "test");
	return test.length > 0 ? test : metrics;
}

/** A window's values per baseline feature, and its predictions. */
function windowValues(
	baseline: DriftBaseline,
	captures: readonly StoredCapture[],
	task: Task,
	facts: VersionFacts,
): { rows: number; features: Map<string, FeatureValues>; predictions: FeatureValues | null } {
	const { labels } = facts;
	const inputs = captures.flatMap(c =>
		c.inputs ? tensorRows(c.inputs, c.rows, facts.inputs) : [],
	);
	const outputs = captures.flatMap(c => (c.outputs ? tensorRows(c.outputs, c.rows) : []));
	const features = new Map<string, FeatureValues>();
	for (const f of baseline.features) {
		if (f.kind === "numeric") {
			const values: number[] = [];
			for (const row of inputs) {
				const v = row[f.name];
				values.push(typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN);
			}
			features.set(f.name, { kind: "numeric", values });
		} else {
			const values: (string | null)[] = [];
			for (const row of inputs) {
				const v = row[f.name];
				values.push(v === null || v === undefined || Array.isArray(v) ? null : String(v));
			}
			features.set(f.name, { kind: "categorical", values });
		}
	}
	const predicted: (string | number | null)[] = [];
	for (const row of outputs) predicted.push(predictedValue(row, task, labels));
	// Answers that name no class of the label (class indices where the dataset names classes)
	// cannot be compared with it: no prediction drift then, rather than a false one.
	const classes = baseline.prediction?.kind === "categorical" ? baseline.prediction.shares : null;
	const comparable = classes === null || predicted.some(p => p !== null && String(p) in classes);
	const predictions: FeatureValues | null =
		predicted.length === 0 || !comparable
			? null
			: task === "regression"
				? { kind: "numeric", values: predicted.map(p => (typeof p === "number" ? p : NaN)) }
				: {
						kind: "categorical",
						values: predicted.map(p => (p === null ? null : String(p))),
					};
	const rows = captures.reduce((n, c) => n + c.rows, 0);
	return { rows, features, predictions };
}
