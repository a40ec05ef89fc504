/**
 * A Moleculer tracing exporter that turns every finished Moleculer span into an OpenTelemetry
 * span with the same trace id, span id and parent (mapped by lib/observability/trace-context.ts),
 * handed to the OpenTelemetry SDK's span processors — over OTLP/HTTP in a node
 * (lib/observability/tracing.ts), into memory in a test. Moleculer propagates its ids across
 * the bus itself (a call's requestID and parentID travel in its packet), so one request makes
 * one trace from the gateway to the runtime without carrying OpenTelemetry's context.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import type { Attributes, AttributeValue, Tracer as OtelTracer } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import { TracerProvider, type IdGenerator, type SpanProcessor } from "@opentelemetry/sdk-trace";
import { TracerExporters, type Span as MoleculerSpan } from "moleculer";
import { newTraceId, otelSpanId, otelTraceId } from "./trace-context";

/**
 * Ids handed to the SDK for the span being built: the SDK asks its generator for a span id (and
 * for a root span, a trace id) once, synchronously, inside `startSpan`.
 */
class PresetIds implements IdGenerator {
	traceId = "";
	spanId = "";
	generateTraceId(): string {
		return this.traceId || newTraceId();
	}
	generateSpanId(): string {
		return this.spanId;
	}
}

export interface OtelExporterOptions {
	resource: Resource;
	spanProcessors: SpanProcessor[];
}

/** Span attributes: OpenTelemetry takes primitives and arrays of them, nothing nested. */
function attributesOf(flat: Record<string, unknown> | null): Attributes {
	const attributes: Attributes = {};
	if (!flat) return attributes;
	for (const [key, value] of Object.entries(flat)) {
		if (value === null || value === undefined) continue;
		const kind = typeof value;
		if (kind === "string" || kind === "number" || kind === "boolean")
			attributes[`moleculer.${key}`] = value as AttributeValue;
	}
	return attributes;
}

export class OtelTraceExporter extends TracerExporters.Base {
	private readonly ids = new PresetIds();
	private readonly provider: TracerProvider;
	private readonly otelTracer: OtelTracer;

	constructor(options: OtelExporterOptions) {
		super({});
		this.provider = new TracerProvider({
			resource: options.resource,
			idGenerator: this.ids,
			spanProcessors: options.spanProcessors,
		});
		this.otelTracer = this.provider.getTracer("modelfleet");
	}

	override spanFinished(span: MoleculerSpan): void {
		if (!span.sampled) return;
		const traceId = otelTraceId(String(span.traceID));
		const parent = span.parentID
			? trace.setSpanContext(ROOT_CONTEXT, {
					traceId,
					spanId: otelSpanId(String(span.parentID)),
					traceFlags: TraceFlags.SAMPLED,
					isRemote: true,
				})
			: ROOT_CONTEXT;
		const tags = span.tags as { remoteCall?: boolean };
		this.ids.traceId = traceId;
		this.ids.spanId = otelSpanId(String(span.id));
		const otelSpan = this.otelTracer.startSpan(
			span.name,
			{
				// A call that came over the bus (or the HTTP request at the gateway) is served here.
				kind:
					tags.remoteCall === true || !span.parentID
						? SpanKind.SERVER
						: SpanKind.INTERNAL,
				startTime: span.startTime ?? Date.now(),
				attributes: {
					...attributesOf(this.flattenTags(span.tags, false) as Record<string, unknown>),
					"moleculer.type": span.type,
					...(span.service?.fullName
						? { "moleculer.service": span.service.fullName }
						: {}),
				},
			},
			parent,
		);
		this.ids.traceId = "";
		this.ids.spanId = "";
		if (span.error) {
			const err = span.error as Error & { type?: string; code?: number };
			otelSpan.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
			otelSpan.setAttribute("error.type", err.type ?? err.name ?? "Error");
		}
		otelSpan.end(span.finishTime ?? Date.now());
	}

	/** Sends what is buffered and stops: the broker's stop waits for it. */
	override async stop(): Promise<void> {
		await this.provider.shutdown();
	}
}
