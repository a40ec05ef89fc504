/** A plain HTTP server on a free loopback port, answering with a test's handler. */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface LoopbackServer {
	url: string;
	close(): Promise<void>;
}

/** A loopback server answering with `handler`; closed, open connections and all, by `close()`. */
export async function serve(handler: http.RequestListener): Promise<LoopbackServer> {
	const server = http.createServer(handler);
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		close: () =>
			new Promise(resolve => {
				server.close(() => resolve());
				// An event stream left open must not hold the close.
				server.closeAllConnections();
			}),
	};
}
