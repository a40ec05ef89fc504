/**
 * Payload capture on the node that serves (docs/monitoring.md): a deployment's capture rate
 * comes with the routing table every node holds; a sampled request is written into its
 * model's batch in a bounded buffer when its answer is ready, and a timer sends the batches
 * to the scheduler (`scheduler.monitoring.ingest`) as bytes. A full buffer drops and counts;
 * nothing here waits on the predict path.
 */
import { nodeMetricsOf } from "../../lib/metrics/node-metrics";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import { SERVICE } from "../../lib/fleet/node-role";
import {
	CaptureBuffer,
	DEFAULT_CAPTURE_OPTIONS,
	type CaptureBatch,
	type CaptureOptions,
} from "../../lib/monitoring/capture";
import type { AnsweredRequest, InferResult } from "../../lib/predictor/served-model";
import { fleetViewOf } from "../../lib/routing/fleet-view";

export interface CaptureMixinOptions {
	/** How often the buffer is flushed, ms. */
	flushIntervalMs: number;
	capture?: Partial<CaptureOptions>;
}

/** A sampled request's capture in progress: set by the answer hook, finished by `captured`. */
export interface CaptureSlot {
	answered: AnsweredRequest | null;
	observe(answered: AnsweredRequest): void;
}

export interface CaptureMethods {
	/** A slot when this request of the tenant's model is sampled, else null (the common case). */
	captureSlot(tenant: string, model: string): CaptureSlot | null;
	/** Records an answered, sampled request. */
	captured(slot: CaptureSlot, tenant: string, result: InferResult, latencyMs: number): void;
	/** Records a sampled request that failed on the server (for the error rate). */
	captureFailure(
		tenant: string,
		model: string,
		version: string,
		type: string,
		latencyMs: number,
	): void;
}

export function captureMixin(options: CaptureMixinOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the three capture
	// methods, each short, and the buffer's start, flush timer and stop.
	const settings = { ...DEFAULT_CAPTURE_OPTIONS, ...(options.capture ?? {}) };
	let buffer: CaptureBuffer;
	let timer: NodeJS.Timeout | null = null;

	const methods: CaptureMethods & ThisType<{ broker: ServiceBroker }> = {
		captureSlot(tenant, model) {
			const rate =
				fleetViewOf(this.broker).deployment(tenant, model.split("@")[0])?.captureRate ?? 0;
			if (rate <= 0 || Math.random() >= rate) return null;
			const slot: CaptureSlot = {
				answered: null,
				observe(answered) {
					slot.answered = answered;
				},
			};
			return slot;
		},

		captured(slot, tenant, result, latencyMs) {
			const { answered } = slot;
			if (answered === null) return;
			// The tensors' bytes are copied into the batch now (the buffers may be reused).
			buffer.offer({
				predictionId: result.id ?? "",
				tenant,
				model: result.modelName,
				version: result.modelVersion,
				at: Date.now(),
				latencyMs,
				rows: result.rows,
				inputs: answered.inputs,
				outputs: answered.outputs,
				error: null,
			});
		},

		captureFailure(tenant, model, version, type, latencyMs) {
			const rate =
				fleetViewOf(this.broker).deployment(tenant, model.split("@")[0])?.captureRate ?? 0;
			if (rate <= 0 || Math.random() >= rate) return;
			buffer.offer({
				predictionId: "",
				tenant,
				model,
				version,
				at: Date.now(),
				latencyMs,
				rows: 0,
				inputs: null,
				outputs: null,
				error: type,
			});
		},
	};

	return {
		methods: methods as unknown as ServiceSchema["methods"],

		created() {
			const metrics = nodeMetricsOf(this.broker);
			let reported = { captured: 0, lost: 0 };
			buffer = new CaptureBuffer(async (batches: CaptureBatch[]) => {
				await this.broker.call(`${SERVICE.scheduler}.monitoring.ingest`, { batches });
			}, settings);
			(this as unknown as { captureBuffer: CaptureBuffer }).captureBuffer = buffer;
			(this as unknown as { reportCapture: () => void }).reportCapture = () => {
				const { captured, dropped, failed } = buffer.counts;
				metrics.captureRecords.inc(captured - reported.captured);
				metrics.captureDropped.inc(dropped + failed - reported.lost);
				reported = { captured, lost: dropped + failed };
			};
		},

		started() {
			const self = this as unknown as { reportCapture: () => void };
			timer = setInterval(() => {
				void buffer.flush().finally(() => self.reportCapture());
			}, options.flushIntervalMs);
			timer.unref();
		},

		async stopped() {
			if (timer) clearInterval(timer);
			// What is buffered goes out before the node leaves, if the scheduler is still there.
			await buffer.flush();
		},
	};
}
