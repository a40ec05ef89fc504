/**
 * How a node is observed: its log lines (LOG_FORMAT) and its traces (an OTLP/HTTP endpoint,
 * MODELFLEET_OTLP_ENDPOINT or OpenTelemetry's own OTEL_EXPORTER_OTLP_ENDPOINT; none: tracing
 * off, nothing added to any call).
 */
import type { EnvReader } from "../settings/env-reader";
import { tracesUrl, type TracingSettings } from "../observability/tracing";

export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ObservabilitySettings {
	/** LOG_FORMAT — default "text"; "json": one JSON object a line, with request id, trace id, tenant and node. */
	logFormat: LogFormat;
	/** The OTLP/HTTP traces URL and sampling; null: tracing off. */
	tracing: TracingSettings | null;
}

export function readObservabilitySettings(read: EnvReader): ObservabilitySettings {
	const logFormat = read.oneOf("LOG_FORMAT", LOG_FORMATS, "text");
	// Ours first, so a fleet can trace to its own collector whatever the environment sets.
	const own = read.optionalString("MODELFLEET_OTLP_ENDPOINT");
	const standard = read.optionalString("OTEL_EXPORTER_OTLP_ENDPOINT");
	const endpoint = own ?? standard;
	const setting = own !== null ? "MODELFLEET_OTLP_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
	const sampleRatio = read.number("MODELFLEET_TRACE_SAMPLE_RATIO", 1, { min: 0, max: 1 });
	if (endpoint !== null && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
		read.fail(
			setting,
			`"${endpoint}" is not an http:// or https:// URL such as http://collector:4318`,
		);
		return { logFormat, tracing: null };
	}
	return {
		logFormat,
		tracing: endpoint === null ? null : { tracesUrl: tracesUrl(endpoint), sampleRatio },
	};
}
