/**
 * A Moleculer transporter between the threads of one process, over `MessagePort`s: how an
 * all-in-one node's serving threads (nodes/serving-threads.ts) and its main thread form a fleet
 * without a NATS server. The main thread is the hub: it holds one port to each serving thread
 * and passes on what one thread sends to the others; a serving thread holds the one port to the
 * main thread.
 *
 * Every message goes to every other thread, which keeps it only when it subscribed to its topic
 * (Moleculer addresses a node by its topic: `MOL-<namespace>.REQ.<nodeID>`). Balancing is
 * Moleculer's own (no built-in balancer), so a request always names its node.
 */
import type { MessagePort } from "node:worker_threads";
import { Transporters } from "moleculer";

/** What crosses a port: the topic and the serialized packet. */
interface PortMessage {
	topic: string;
	data: Uint8Array;
}

export interface ThreadPortTransporterOptions {
	/** The main thread's: one port per serving thread. A serving thread's: its port to main. */
	ports: readonly MessagePort[];
	/** Whether this thread passes each port's messages on to the other ports (the main thread). */
	hub: boolean;
}

export class ThreadPortTransporter extends Transporters.Base {
	private readonly ports: MessagePort[];
	private readonly hub: boolean;
	/** Topic → the command it carries, for the topics this node subscribed to. */
	private readonly subscribed = new Map<string, string>();
	private readonly listeners = new Map<MessagePort, (message: PortMessage) => void>();

	constructor(options: ThreadPortTransporterOptions) {
		super(options);
		this.ports = [...options.ports];
		this.hub = options.hub;
	}

	/** A serving thread that came back gets a new port (nodes/serving-threads.ts restarts it). */
	addPort(port: MessagePort): void {
		this.ports.push(port);
		if (this.connected) this.listen(port);
	}

	/** A serving thread that ended: nothing more is sent to it. */
	removePort(port: MessagePort): void {
		const index = this.ports.indexOf(port);
		if (index >= 0) this.ports.splice(index, 1);
		const listener = this.listeners.get(port);
		if (listener) port.off("message", listener);
		this.listeners.delete(port);
	}

	override connect(): Promise<void> {
		for (const port of this.ports) this.listen(port);
		return this.onConnected() as Promise<void>;
	}

	override disconnect(): Promise<void> {
		this.connected = false;
		for (const [port, listener] of this.listeners) port.off("message", listener);
		this.listeners.clear();
		return Promise.resolve();
	}

	override subscribe(cmd: string, nodeID?: string): Promise<void> {
		this.subscribed.set(this.getTopicName(cmd, nodeID), cmd);
		return Promise.resolve();
	}

	override subscribeBalancedRequest(): Promise<void> {
		return Promise.resolve();
	}

	override subscribeBalancedEvent(): Promise<void> {
		return Promise.resolve();
	}

	override send(topic: string, data: Buffer): Promise<void> {
		// postMessage copies the bytes: the serializer's buffer may be a view of a shared pool.
		const message: PortMessage = { topic, data };
		for (const port of this.ports) port.postMessage(message);
		return Promise.resolve();
	}

	private listen(port: MessagePort): void {
		if (this.listeners.has(port)) return;
		const listener = (message: PortMessage): void => {
			if (this.hub) {
				for (const other of this.ports) if (other !== port) other.postMessage(message);
			}
			const cmd = this.subscribed.get(message.topic);
			if (cmd === undefined || !this.connected) return;
			const data = Buffer.from(
				message.data.buffer,
				message.data.byteOffset,
				message.data.byteLength,
			);
			void this.receive(cmd, data);
		};
		this.listeners.set(port, listener);
		port.on("message", listener);
		// A port with a listener keeps its thread alive; the thread's own life decides that.
		port.unref();
	}
}
