/**
 * Moleculer's local discoverer, with one fix: a node that comes back under the same nodeID
 * before its peers saw the old process die is not dropped at the old process's heartbeat
 * timeout.
 *
 * A peer that still holds the old process as available takes the new process's INFO as an
 * update (new instance id, its services) but keeps the old process's last heartbeat time; only
 * a reconnect from "unavailable" resets it. When the new process's first heartbeat comes later
 * than the old one's timeout (a node restarted in a few seconds, on a busy machine), the peer
 * declares the new process lost and drops whatever it runs there (a training gang, calls in
 * flight). A new instance's INFO is itself a sign of life: it now counts as a heartbeat.
 */
import { Discoverers } from "moleculer";

type NodeInfo = Record<string, unknown> & { instanceID?: unknown };

export class RestartAwareDiscoverer extends Discoverers.Local {
	override processRemoteNodeInfo(nodeID: string, payload: NodeInfo) {
		const known = this.registry.nodes.get(nodeID);
		const restarted =
			known !== undefined &&
			known.available &&
			typeof payload.instanceID === "string" &&
			known.instanceID !== payload.instanceID;
		const node = super.processRemoteNodeInfo(nodeID, payload);
		// Moleculer's own clock for heartbeats: whole seconds of this process's uptime.
		if (restarted) node.lastHeartbeatTime = Math.round(process.uptime());
		return node;
	}
}

/**
 * The name brokers' options give it (`registry.discoverer.type`): options stay plain data, where
 * an instance would be shared by every broker made from them and carry its broker along.
 */
export const RESTART_AWARE_DISCOVERER = "RestartAware";
// Moleculer's typings take an instance here; its code (getByName, then `new`) takes the class.
Discoverers.register(
	RESTART_AWARE_DISCOVERER,
	RestartAwareDiscoverer as unknown as Discoverers.Base,
);
