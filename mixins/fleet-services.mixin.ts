/**
 * Which services of the fleet are up, for a service that depends on others without blocking
 * its own start on them: whether one is available now, on which nodes, and waiting for some
 * (broker.waitForServices with a deadline).
 */
import type { ServiceBroker, ServiceSchema } from "moleculer";

export interface FleetServicesMethods {
	/** Whether an available node runs `name` now. */
	serviceAvailable(name: string): boolean;
	/** The nodes that run `name` and are available now. */
	nodesRunning(name: string): string[];
	/** Resolves once every service of `names` is available; rejects after `timeoutMs`. */
	waitForFleetServices(names: readonly string[], timeoutMs: number): Promise<void>;
}

export function fleetServicesMixin(): Partial<ServiceSchema> {
	const methods: FleetServicesMethods & ThisType<{ broker: ServiceBroker }> = {
		serviceAvailable(name) {
			return this.broker.registry
				.getServiceList({ onlyAvailable: true, skipInternal: true })
				.some(service => service.name === name);
		},
		nodesRunning(name) {
			return this.broker.registry
				.getServiceList({ onlyAvailable: true, skipInternal: true })
				.filter(service => service.name === name)
				.map(service => String(service.nodeID));
		},
		async waitForFleetServices(names, timeoutMs) {
			await this.broker.waitForServices([...names], timeoutMs);
		},
	};
	return { methods } as unknown as Partial<ServiceSchema>;
}
