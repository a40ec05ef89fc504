import { Discoverers, ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../../moleculer.config";
import { loadNodeConfig } from "../../../lib/config/node-config";
import {
	RESTART_AWARE_DISCOVERER,
	RestartAwareDiscoverer,
} from "../../../lib/fleet/restart-aware-discoverer";

/** An INFO packet's payload from process `instanceID` of node w2. */
function info(instanceID: string, seq = 1) {
	return {
		sender: "w2",
		instanceID,
		seq,
		services: [],
		ipList: ["127.0.0.1"],
		hostname: "h",
		client: { type: "nodejs", version: "0.15", langVersion: "v24" },
		config: {},
		metadata: {},
	};
}

/**
 * w2 known from its first process, its last heartbeat 30 s ago (the process was killed), then
 * the INFO `next` before the heartbeat timeout was checked; answers whether w2 is still
 * available after the next check.
 */
async function availableAfter(
	discoverer: Discoverers.Base,
	next: ReturnType<typeof info>,
): Promise<boolean> {
	const broker = new ServiceBroker({
		logger: false,
		heartbeatTimeout: 10,
		registry: { discoverer },
	});
	await broker.start();
	try {
		discoverer.processRemoteNodeInfo("w2", info("first-process"));
		const node = broker.registry.nodes.get("w2");
		node.lastHeartbeatTime = Math.round(process.uptime()) - 30;
		discoverer.processRemoteNodeInfo("w2", next);
		expect(node.instanceID).toBe(next.instanceID);
		discoverer.checkRemoteNodes();
		return node.available;
	} finally {
		await broker.stop();
	}
}

describe("RestartAwareDiscoverer", () => {
	it("keeps a node restarted under the same nodeID, which Moleculer's own discoverer drops", async () => {
		const restarted = info("second-process");
		expect(await availableAfter(new Discoverers.Local(), restarted)).toBe(false);
		expect(await availableAfter(new RestartAwareDiscoverer(), restarted)).toBe(true);
	});

	it("still drops a node whose process sends nothing past the timeout", async () => {
		// The same process's INFO again (its services changed) is no sign of a restart.
		const updated = info("first-process", 2);
		expect(await availableAfter(new RestartAwareDiscoverer(), updated)).toBe(false);
	});

	it("is the discoverer a node's broker options name, by name: the options stay plain data", () => {
		const options = createBrokerOptions(loadNodeConfig("worker", {}));
		// An instance in the options made the all-in-one node's console test fail to deploy.
		expect(options.registry?.discoverer).toEqual({
			type: RESTART_AWARE_DISCOVERER,
			options: { disableOfflineNodeRemoving: true },
		});
		const broker = new ServiceBroker({ ...options, logger: false });
		expect(broker.registry.discoverer).toBeInstanceOf(RestartAwareDiscoverer);
	});
});
