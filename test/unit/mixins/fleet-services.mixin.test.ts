import { ServiceBroker, type Service } from "moleculer";
import {
	fleetServicesMixin,
	type FleetServicesMethods,
} from "../../../mixins/fleet-services.mixin";

describe("fleetServicesMixin", () => {
	it("says which services are up, on which nodes, and waits for one", async () => {
		const broker = new ServiceBroker({ logger: false, nodeID: "n1" });
		const watcher = broker.createService({
			name: "watcher",
			mixins: [fleetServicesMixin()],
		}) as Service & FleetServicesMethods;
		await broker.start();
		try {
			expect(watcher.serviceAvailable("scheduler")).toBe(false);
			expect(watcher.nodesRunning("watcher")).toEqual(["n1"]);
			await expect(watcher.waitForFleetServices(["scheduler"], 50)).rejects.toBeDefined();
			const waiting = watcher.waitForFleetServices(["scheduler"], 5_000);
			await broker.createService({ name: "scheduler" })._start();
			await expect(waiting).resolves.toBeUndefined();
			expect(watcher.serviceAvailable("scheduler")).toBe(true);
			expect(watcher.nodesRunning("scheduler")).toEqual(["n1"]);
		} finally {
			await broker.stop();
		}
	});
});
