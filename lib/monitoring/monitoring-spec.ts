/**
 * What a deployment asks of monitoring: how much of its traffic is captured, what drift is
 * measured against and over which windows, its latency SLO and the accuracy margin. Stored
 * with the deployment; set at create and changed with update (omitted fields keep their value).
 */
import { DEFAULT_DRIFT_THRESHOLDS, type DriftThresholds } from "./drift";

export interface DeploymentMonitoring {
	/** The share of predictions captured, 0 (off) to 1 (all). */
	captureRate: number;
	/** A dataset (`name` or `name@version`) to measure drift against; null: the version's training dataset. */
	referenceDataset: string | null;
	/** A window closes after this many captured rows … */
	windowRows: number;
	/** … or this many minutes after its first row, whichever comes first. */
	windowMinutes: number;
	thresholds: DriftThresholds;
	/** The p95 latency the deployment should keep, ms; null: no SLO (health leaves latency out). */
	latencySloMs: number | null;
	/** How far a live metric may fall below the version's test metric before it is degraded. */
	accuracyMargin: number;
}

export const DEFAULT_MONITORING: Readonly<DeploymentMonitoring> = Object.freeze({
	captureRate: 0,
	referenceDataset: null,
	windowRows: 500,
	windowMinutes: 60,
	thresholds: DEFAULT_DRIFT_THRESHOLDS,
	latencySloMs: null,
	accuracyMargin: 0.05,
});

/** The validation schema of `monitoring` in deployments.create and .update. */
export const MONITORING_RULE = {
	type: "object",
	optional: true,
	strict: "remove",
	props: {
		captureRate: { type: "number", min: 0, max: 1, optional: true },
		referenceDataset: { type: "string", min: 1, max: 300, optional: true, nullable: true },
		windowRows: { type: "number", integer: true, min: 10, max: 1_000_000, optional: true },
		windowMinutes: { type: "number", min: 1, max: 10_080, optional: true },
		thresholds: {
			type: "object",
			optional: true,
			strict: "remove",
			props: {
				psi: { type: "number", min: 0.001, max: 100, optional: true },
				ksAlpha: { type: "number", min: 1e-12, max: 0.5, optional: true },
				ksMinStatistic: { type: "number", min: 0, max: 1, optional: true },
			},
		},
		latencySloMs: {
			type: "number",
			min: 0.001,
			max: 3_600_000,
			optional: true,
			nullable: true,
		},
		accuracyMargin: { type: "number", min: 0, max: 1, optional: true },
	},
} as const;

export interface MonitoringInput {
	captureRate?: number;
	referenceDataset?: string | null;
	windowRows?: number;
	windowMinutes?: number;
	thresholds?: Partial<DriftThresholds>;
	latencySloMs?: number | null;
	accuracyMargin?: number;
}

/** The settings from what was given over what was there (or the defaults). */
export function resolveMonitoring(
	input: MonitoringInput | undefined,
	base: DeploymentMonitoring | null = null,
): DeploymentMonitoring {
	const from = base ?? DEFAULT_MONITORING;
	if (input === undefined) return { ...from, thresholds: { ...from.thresholds } };
	return {
		captureRate: input.captureRate ?? from.captureRate,
		referenceDataset:
			input.referenceDataset !== undefined ? input.referenceDataset : from.referenceDataset,
		windowRows: input.windowRows ?? from.windowRows,
		windowMinutes: input.windowMinutes ?? from.windowMinutes,
		thresholds: { ...from.thresholds, ...(input.thresholds ?? {}) },
		latencySloMs: input.latencySloMs !== undefined ? input.latencySloMs : from.latencySloMs,
		accuracyMargin: input.accuracyMargin ?? from.accuracyMargin,
	};
}

/** Settings stored before monitoring existed (null) read as the defaults. */
export function monitoringOf(stored: unknown): DeploymentMonitoring {
	return resolveMonitoring(
		(stored ?? undefined) as MonitoringInput | undefined,
		DEFAULT_MONITORING,
	);
}
