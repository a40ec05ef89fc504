/**
 * A second process for the serializer test: a broker configured exactly as modelfleet nodes are,
 * with one service that says what arrived and sends it back.
 */
import { createHash } from "node:crypto";
import { ServiceBroker, type Context } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";

interface InspectParams {
	tensor: unknown;
}

const broker = new ServiceBroker(createBrokerOptions(loadNodeConfig("worker", process.env)));
broker.createService({
	name: "tensor-echo",
	actions: {
		inspect(ctx: Context<InspectParams>) {
			const { tensor } = ctx.params;
			const view = ArrayBuffer.isView(tensor) ? tensor : null;
			return {
				constructorName: (tensor as object | null)?.constructor?.name ?? null,
				byteLength: view?.byteLength ?? null,
				sha256: view
					? createHash("sha256")
							.update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
							.digest("hex")
					: null,
				tensor,
			};
		},
	},
});
broker.start().then(() => console.log("TENSOR-ECHO READY"));
process.on("SIGTERM", () => void broker.stop().then(() => process.exit(0)));
