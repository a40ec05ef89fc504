import * as net from "node:net";
import {
	advertisedEndpoint,
	DIRECT_LINK_METADATA_KEY,
	DirectLinks,
	type DirectLink,
	type DirectLinksOptions,
	type LinkEndpoint,
	type PacketKind,
} from "../../../lib/fleet/direct-links";
import { encodeFrame, FrameKind } from "../../../lib/fleet/link-frames";
import { linkKey, linkProof, newNonce } from "../../../lib/fleet/link-handshake";

const KEY = linkKey("the-fleet-secret-of-these-tests-0123456789");
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };

interface Received {
	peer: string;
	kind: PacketKind;
	payload: string;
}

/** A node's links on 127.0.0.1, recording what arrives and which links closed. */
function node(nodeID: string, options: Partial<DirectLinksOptions> = {}) {
	const received: Received[] = [];
	const closed: DirectLink[] = [];
	const links = new DirectLinks({
		nodeID,
		namespace: "test",
		key: KEY,
		host: "127.0.0.1",
		port: 0,
		advertiseHost: "127.0.0.1",
		maxFrameBytes: 1024 * 1024,
		onPacket: (peer, kind, payload) =>
			received.push({ peer, kind, payload: payload.toString() }),
		onClosed: link => closed.push(link),
		logger: quiet,
		...options,
	});
	return { links, received, closed };
}

async function until(condition: () => boolean, what: string, ms = 3000): Promise<void> {
	const end = Date.now() + ms;
	while (!condition()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise(resolve => setTimeout(resolve, 5));
	}
}

/** A raw TCP client: what it receives, and whether the other side closed it. */
function rawClient(endpoint: LinkEndpoint) {
	const socket = net.connect(endpoint);
	const state = { data: Buffer.alloc(0), closed: false };
	socket.on("data", chunk => (state.data = Buffer.concat([state.data, chunk])));
	socket.on("close", () => (state.closed = true));
	socket.on("error", () => undefined);
	return { socket, state };
}

describe("DirectLinks", () => {
	const started: DirectLinks[] = [];
	afterEach(async () => {
		await Promise.all(started.splice(0).map(links => links.stop()));
	});
	async function start(nodeID: string, options: Partial<DirectLinksOptions> = {}) {
		const made = node(nodeID, options);
		const endpoint = await made.links.start();
		started.push(made.links);
		return { ...made, endpoint };
	}

	it("open on the first packet to a peer, which then goes another way; later ones cross it both ways", async () => {
		const gateway = await start("gateway");
		const worker = await start("worker");
		expect(
			gateway.links.send("worker", "request", Buffer.from("r0"), worker.endpoint),
		).toBeNull();
		await until(() => gateway.links.linkTo("worker") !== null, "the link");
		expect(
			gateway.links.send("worker", "request", Buffer.from("r1"), worker.endpoint),
		).not.toBeNull();
		await until(() => worker.received.length === 1, "the request");
		expect(worker.received).toEqual([{ peer: "gateway", kind: "request", payload: "r1" }]);
		// The worker answers on the link the gateway opened, without opening one of its own.
		await until(() => worker.links.linkTo("gateway") !== null, "the worker's side");
		expect(worker.links.send("gateway", "response", Buffer.from("a1"), null)).not.toBeNull();
		await until(() => gateway.received.length === 1, "the response");
		expect(gateway.received).toEqual([{ peer: "worker", kind: "response", payload: "a1" }]);
		expect(gateway.links.stats()).toMatchObject({
			open: 1,
			packetsSent: 1,
			packetsReceived: 1,
		});
	});

	it("carry a packet far larger than a socket read, intact", async () => {
		const gateway = await start("gateway");
		const worker = await start("worker");
		gateway.links.send("worker", "request", Buffer.alloc(0), worker.endpoint);
		await until(() => gateway.links.linkTo("worker") !== null, "the link");
		const big = Buffer.alloc(900_000, "x");
		big.write("end", big.length - 3);
		gateway.links.send("worker", "request", big, worker.endpoint);
		await until(() => worker.received.length === 1, "the packet");
		expect(worker.received[0].payload).toBe(big.toString());
	});

	it("are refused to a peer with another fleet secret, on both sides, and no packet crosses", async () => {
		const gateway = await start("gateway", {
			key: linkKey("another-secret-entirely-0123456789abcdef"),
		});
		const worker = await start("worker");
		gateway.links.send("worker", "request", Buffer.from("r"), worker.endpoint);
		await until(() => gateway.links.stats().refused === 1, "the gateway's refusal");
		expect(gateway.links.linkTo("worker")).toBeNull();
		expect(worker.links.linkTo("gateway")).toBeNull();
		// Not tried again at once: the packets keep going the other way.
		expect(
			gateway.links.send("worker", "request", Buffer.from("r"), worker.endpoint),
		).toBeNull();
		expect(worker.received).toEqual([]);
	});

	it("refuse a connection that claims another node or namespace", async () => {
		const worker = await start("worker");
		const stranger = await start("gateway", { namespace: "other" });
		stranger.links.send("worker", "request", Buffer.from("r"), worker.endpoint);
		await until(() => worker.links.stats().refused === 1, "the refusal");
		// A node that means another node id at this endpoint is refused as well.
		const confused = await start("gateway2");
		confused.links.send("someone-else", "request", Buffer.from("r"), worker.endpoint);
		await until(() => worker.links.stats().refused === 2, "the second refusal");
		expect(worker.received).toEqual([]);
	});

	it("read a packet sent right behind the proof under the open link's bound, not the handshake's", async () => {
		const worker = await start("worker");
		const { socket, state } = rawClient(worker.endpoint);
		const hello = { v: 1, namespace: "test", from: "gateway", to: "worker", nonce: newNonce() };
		socket.write(
			Buffer.concat(encodeFrame(FrameKind.hello, Buffer.from(JSON.stringify(hello)))),
		);
		await until(() => state.data.length > 0, "the welcome");
		const welcome = JSON.parse(state.data.subarray(5).toString()) as { nonce: string };
		const proof = { proof: linkProof(KEY, "connector", hello, welcome.nonce) };
		const big = Buffer.alloc(100_000, "b");
		socket.write(
			Buffer.concat([
				...encodeFrame(FrameKind.proof, Buffer.from(JSON.stringify(proof))),
				...encodeFrame(FrameKind.request, big),
			]),
		);
		await until(() => worker.received.length === 1, "the packet");
		expect(worker.received[0]).toMatchObject({ peer: "gateway", kind: "request" });
		expect(worker.received[0].payload).toBe(big.toString());
		expect(state.closed).toBe(false);
		socket.destroy();
	});

	it("send nothing more over a link its peer does not read, past the backlog bound", async () => {
		const gateway = await start("gateway", { maxBacklogBytes: 1024 * 1024 });
		// A peer that proves itself, then never reads again.
		const server = net.createServer(socket => {
			socket.once("data", chunk => {
				const hello = JSON.parse(chunk.subarray(5).toString()) as {
					v: number;
					namespace: string;
					from: string;
					to: string;
					nonce: string;
				};
				const nonce = newNonce();
				socket.write(
					Buffer.concat(
						encodeFrame(
							FrameKind.welcome,
							Buffer.from(
								JSON.stringify({
									nonce,
									proof: linkProof(KEY, "listener", hello, nonce),
								}),
							),
						),
					),
				);
				socket.pause();
			});
		});
		await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
		const endpoint = { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
		try {
			gateway.links.send("stuck", "request", Buffer.alloc(0), endpoint);
			await until(() => gateway.links.linkTo("stuck") !== null, "the link");
			const packet = Buffer.alloc(256 * 1024);
			let sent = 0;
			while (
				gateway.links.send("stuck", "request", packet, endpoint) !== null &&
				sent < 10_000
			)
				sent++;
			// The kernel's buffers take some megabytes; past them, at most the bound is held.
			expect(sent).toBeLessThan(10_000);
			expect(gateway.links.linkTo("stuck")?.backlogBytes).toBeLessThanOrEqual(
				1024 * 1024 + packet.length + 5,
			);
		} finally {
			await gateway.links.stop();
			server.close();
		}
	});

	it("close a connection that sends packets before proving itself, delivering none", async () => {
		const worker = await start("worker");
		const { socket, state } = rawClient(worker.endpoint);
		socket.write(Buffer.concat(encodeFrame(FrameKind.request, Buffer.from("forged"))));
		await until(() => state.closed, "the close");
		expect(worker.received).toEqual([]);
		expect(worker.links.stats().refused).toBe(1);
	});

	it("close a connection that announces an oversized handshake frame, before reading it", async () => {
		const worker = await start("worker");
		const { socket, state } = rawClient(worker.endpoint);
		socket.write(Buffer.from([0x00, 0x10, 0x00, 0x00, FrameKind.hello]));
		await until(() => state.closed, "the close");
		expect(worker.links.stats().refused).toBe(1);
	});

	it("close a connection that never finishes its handshake", async () => {
		const worker = await start("worker", { handshakeTimeoutMs: 100 });
		const { state } = rawClient(worker.endpoint);
		await until(() => state.closed, "the close");
		expect(worker.links.stats().refused).toBe(1);
	});

	it("close at once the connections over their bound on handshakes in progress", async () => {
		const worker = await start("worker", { maxHandshaking: 2 });
		const clients = [0, 1, 2].map(() => rawClient(worker.endpoint));
		await until(() => clients[2].state.closed, "the third's close");
		expect(clients[0].state.closed || clients[1].state.closed).toBe(false);
		for (const client of clients) client.socket.destroy();
	});

	it("close an open link whose peer sends a frame over the bound, and report which link closed", async () => {
		const gateway = await start("gateway", { maxFrameBytes: 10 * 1024 * 1024 });
		const worker = await start("worker", { maxFrameBytes: 1000 });
		gateway.links.send("worker", "request", Buffer.alloc(0), worker.endpoint);
		await until(() => gateway.links.linkTo("worker") !== null, "the link");
		const link = gateway.links.send("worker", "request", Buffer.from("ok"), worker.endpoint);
		link?.sentRequests.add("call-1");
		gateway.links.send("worker", "request", Buffer.alloc(5000), worker.endpoint);
		await until(() => gateway.closed.length === 1, "the gateway seeing the close");
		expect(gateway.closed[0]).toBe(link);
		expect([...gateway.closed[0].sentRequests]).toEqual(["call-1"]);
		expect(gateway.links.linkTo("worker")).toBeNull();
		expect(worker.received.map(r => r.payload)).toEqual(["ok"]);
	});

	it("report a link closed when its peer goes away", async () => {
		const gateway = await start("gateway");
		const worker = await start("worker");
		gateway.links.send("worker", "request", Buffer.alloc(0), worker.endpoint);
		await until(() => gateway.links.linkTo("worker") !== null, "the link");
		await worker.links.stop();
		await until(() => gateway.closed.length === 1, "the close");
		expect(gateway.links.linkTo("worker")).toBeNull();
	});

	it("do not try a peer again for a while after it could not be reached", async () => {
		const gateway = await start("gateway", { retryAfterMs: 60_000 });
		const closed = await start("worker");
		const endpoint = closed.endpoint;
		await closed.links.stop();
		gateway.links.send("worker", "request", Buffer.alloc(0), endpoint);
		const connects = jest.spyOn(net, "connect");
		await new Promise(resolve => setTimeout(resolve, 100));
		gateway.links.send("worker", "request", Buffer.alloc(0), endpoint);
		expect(connects).not.toHaveBeenCalled();
		connects.mockRestore();
	});
});

describe("advertisedEndpoint", () => {
	it("reads a well-formed endpoint from a node's metadata, and nothing else", () => {
		const meta = (value: unknown) => ({ [DIRECT_LINK_METADATA_KEY]: value });
		expect(advertisedEndpoint(meta({ host: "10.0.0.5", port: 4100 }))).toEqual({
			host: "10.0.0.5",
			port: 4100,
		});
		for (const bad of [
			null,
			"x",
			{ host: "", port: 1 },
			{ host: "h", port: 0 },
			{ host: "h", port: 70000 },
			{ host: "h", port: 1.5 },
			{ host: 5, port: 1 },
		])
			expect(advertisedEndpoint(meta(bad))).toBeNull();
		expect(advertisedEndpoint(null)).toBeNull();
		expect(advertisedEndpoint({})).toBeNull();
	});
});
