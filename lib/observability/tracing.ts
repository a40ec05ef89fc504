/**
 * The broker's tracing options: off (no tracer, nothing on the call path) unless an OTLP
 * endpoint is set; then every action span is exported over OTLP/HTTP (JSON) through the
 * OpenTelemetry SDK's batch processor, as service `modelfleet-<role>` with the node id as
 * service instance.
 */
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { TracerOptions } from "moleculer";
import { MODELFLEET_VERSION } from "../version";
import { OtelTraceExporter } from "./otel-exporter";

export interface TracingSettings {
	/** Where spans go: the OTLP/HTTP traces URL (…/v1/traces). */
	tracesUrl: string;
	/** Fraction of new traces recorded (a caller's sampled flag decides for its own). */
	sampleRatio: number;
}

export interface TracingIdentity {
	role: string;
	nodeID: string;
	namespace: string;
}

/** The OTLP/HTTP traces URL of an endpoint setting: a base URL gets `/v1/traces`, as OTEL_EXPORTER_OTLP_ENDPOINT does. */
export function tracesUrl(endpoint: string): string {
	const trimmed = endpoint.replace(/\/+$/, "");
	return trimmed.endsWith("/v1/traces") ? trimmed : `${trimmed}/v1/traces`;
}

/** Moleculer's tracer options with the OpenTelemetry exporter; `processors` replaces OTLP (tests). */
export function tracingOptions(
	settings: TracingSettings,
	identity: TracingIdentity,
	processors?: SpanProcessor[],
): TracerOptions {
	const resource = resourceFromAttributes({
		[ATTR_SERVICE_NAME]: `modelfleet-${identity.role}`,
		[ATTR_SERVICE_VERSION]: MODELFLEET_VERSION,
		"service.instance.id": identity.nodeID,
		"service.namespace": identity.namespace,
	});
	const exporter = new OtelTraceExporter({
		resource,
		spanProcessors: processors ?? [
			new BatchSpanProcessor({
				exporter: new OTLPTraceExporter({ url: settings.tracesUrl }),
				scheduledDelayMillis: 1000,
			}),
		],
	});
	return {
		enabled: true,
		// The tracer takes exporter instances; its typings only name the option objects.
		exporter: [exporter as unknown as NonNullable<TracerOptions["exporter"]>],
		sampling: { rate: settings.sampleRatio },
		// Never params (tensors, uploads) or answers: the ids and the tenant are enough to find a request.
		tags: {
			action: { params: false, meta: ["tenant", "requestId"] },
			event: { params: false },
		},
		errorFields: ["name", "message", "type", "code"],
		stackTrace: false,
	} as TracerOptions;
}
