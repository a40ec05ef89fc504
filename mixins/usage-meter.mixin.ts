/**
 * Metering on a node (docs/usage-and-quotas.md): the service counts usage into a meter
 * (lib/metering/usage-meter.ts) and this mixin flushes it to accounts every `flushMs`, and once
 * more when the service stops. A flush that fails is sent again, with the same key, until
 * accounts applies it; a repeated key adds nothing, so a flush is never counted twice. A node
 * killed loses what it counted since its last acknowledged flush.
 */
import { Errors, type ServiceSchema } from "moleculer";
import { SERVICE } from "../lib/fleet/node-role";
import { UsageMeter } from "../lib/metering/usage-meter";

export interface UsageMeterOptions {
	/** How often counts are flushed, ms (MODELFLEET_USAGE_FLUSH_MS). */
	flushMs: number;
	/** Called just before each flush: for counts that accrue over time (training seconds). */
	beforeFlush?: (meter: UsageMeter) => void;
}

export interface UsageMeterService {
	/** This service's meter: count into it; the mixin flushes. */
	meter: UsageMeter;
	/** Sends what waits now (the tests' and the stop's flush). */
	flushUsage(): Promise<void>;
}

export function usageMeterMixin(options: UsageMeterOptions): Partial<ServiceSchema> {
	let timer: NodeJS.Timeout | null = null;
	let flushing: Promise<void> | null = null;
	return {
		created() {
			const self = this as unknown as UsageMeterService & { name: string };
			// One meter per service instance: its key names the node and the service.
			self.meter = new UsageMeter({ node: `${this.broker.nodeID}/${self.name}` });
		},

		methods: {
			flushUsage(): Promise<void> {
				const self = this as unknown as UsageMeterService;
				const send = async (): Promise<void> => {
					options.beforeFlush?.(self.meter);
					for (const record of self.meter.takeFlush()) {
						try {
							await this.broker.call(`${SERVICE.accounts}.usage.record`, record);
							self.meter.acknowledge(record.seq);
						} catch (err) {
							if (err instanceof Errors.MoleculerClientError) {
								// Refused as invalid: sending it again would be refused again and hold up the rest.
								this.logger.error(
									`Usage flush ${record.seq} refused and dropped: ${err.message}`,
								);
								self.meter.acknowledge(record.seq);
								continue;
							}
							// Kept, and sent again with the same key at the next flush.
							this.logger.warn(
								`Usage flush ${record.seq} not applied: ${(err as Error).message}`,
							);
							return;
						}
					}
				};
				flushing ??= send().finally(() => {
					flushing = null;
				});
				return flushing;
			},
		},

		started() {
			const self = this as unknown as UsageMeterService;
			timer = setInterval(() => void self.flushUsage(), options.flushMs);
			timer.unref();
		},

		async stopped() {
			if (timer !== null) clearInterval(timer);
			timer = null;
			const self = this as unknown as UsageMeterService;
			await flushing;
			// The last counts go before the node leaves (accounts may be gone already: then they are lost).
			await self.flushUsage().catch(() => undefined);
		},
	};
}
