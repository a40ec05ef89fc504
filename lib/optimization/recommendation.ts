/**
 * The recommendation table for a version: every optimization made from it, one row each, with
 * the measured trade-offs side by side (size, accuracy change, agreement, latency and
 * throughput at batch 1 and 64, state), and which row to pick: the lowest batch-1 latency among
 * those that met their acceptance thresholds (Validated when made), else none.
 */
import type { OptimizationReport } from "./optimization-job";

/** A registry version view, the fields read here. */
export interface VersionRow {
	version: string;
	state: string;
	artifact: { size: number } | null;
	lineage: { parentVersion?: string };
	details: Record<string, unknown>;
}

export interface OptimizationRow {
	version: string;
	recipe: string;
	params: unknown;
	state: string;
	sizeBytes: number;
	sizeRatio: number;
	accuracy: number | null;
	accuracyDelta: number | null;
	argmaxAgreement: number | null;
	maxRelDiff: number;
	latencyMsBatch1: number | null;
	latencyMsBatch64: number | null;
	rowsPerSecondBatch64: number | null;
	/** The source's own latency on the same node, for comparison. */
	sourceLatencyMsBatch1: number | null;
	sourceLatencyMsBatch64: number | null;
	acceptanceFailures: string[];
}

export interface OptimizationTable {
	model: string;
	version: string;
	optimizations: OptimizationRow[];
	/** The row that met its thresholds with the lowest batch-1 latency; null when none did. */
	recommended: string | null;
}

export function optimizationTable(
	model: string,
	source: string,
	versions: readonly VersionRow[],
): OptimizationTable {
	const optimizations = versions
		.filter(v => v.lineage.parentVersion === source && isReport(v.details.optimization))
		.map(v => row(v, v.details.optimization as OptimizationReport));
	const validated = optimizations
		.filter(r => r.acceptanceFailures.length === 0)
		.sort((a, b) => (a.latencyMsBatch1 ?? Infinity) - (b.latencyMsBatch1 ?? Infinity));
	return { model, version: source, optimizations, recommended: validated[0]?.version ?? null };
}

function isReport(value: unknown): boolean {
	return typeof value === "object" && value !== null && "evaluation" in value;
}

function row(version: VersionRow, report: OptimizationReport): OptimizationRow {
	const { evaluation } = report;
	const at = (points: readonly { batch: number; p50Ms: number }[], batch: number) =>
		points.find(p => p.batch === batch)?.p50Ms ?? null;
	return {
		version: version.version,
		recipe: report.recipe,
		params: report.params,
		state: version.state,
		sizeBytes: evaluation.size.optimized,
		sizeRatio: evaluation.size.ratio,
		accuracy: evaluation.accuracy?.optimized ?? null,
		accuracyDelta: evaluation.accuracy?.delta ?? null,
		argmaxAgreement: evaluation.agreement.argmax,
		maxRelDiff: evaluation.agreement.maxRelDiff,
		latencyMsBatch1: at(evaluation.latency.optimized, 1),
		latencyMsBatch64: at(evaluation.latency.optimized, 64),
		rowsPerSecondBatch64:
			evaluation.latency.optimized.find(p => p.batch === 64)?.rowsPerSecond ?? null,
		sourceLatencyMsBatch1: at(evaluation.latency.source, 1),
		sourceLatencyMsBatch64: at(evaluation.latency.source, 64),
		acceptanceFailures: report.acceptance.failures,
	};
}
