/**
 * HTTP requests over a bare socket, for tests of what a server does with bodies that stall,
 * lie or never end: the head is written, then the body as the test says, and the answer's
 * status, headers and body are read as they come (the test may stop sending once it has one).
 */
import * as net from "node:net";

export interface RawAnswer {
	status: number;
	headers: Record<string, string>;
	body: string;
}

export class RawRequest {
	readonly socket: net.Socket;
	private received = "";
	private closedFlag = false;
	/** The first answer, once its head and (Content-Length) body are in. */
	readonly answer: Promise<RawAnswer>;
	/** Resolves when the server closes the connection. */
	readonly closed: Promise<void>;

	constructor(port: number, head: string) {
		this.socket = net.connect(port, "127.0.0.1");
		this.socket.on("error", () => undefined);
		this.socket.write(head);
		this.closed = new Promise(resolve =>
			this.socket.once("close", () => {
				this.closedFlag = true;
				resolve();
			}),
		);
		this.answer = new Promise((resolve, reject) => {
			const parse = () => {
				const end = this.received.indexOf("\r\n\r\n");
				if (end < 0) return false;
				const [statusLine, ...lines] = this.received.slice(0, end).split("\r\n");
				const headers: Record<string, string> = {};
				for (const line of lines) {
					const at = line.indexOf(":");
					headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
				}
				let body = this.received.slice(end + 4);
				if (headers["transfer-encoding"] === "chunked") {
					if (!body.includes("0\r\n\r\n")) return false;
					let text = "";
					for (let at = 0; ;) {
						const eol = body.indexOf("\r\n", at);
						const size = parseInt(body.slice(at, eol), 16);
						if (!(size > 0)) break;
						text += body.slice(eol + 2, eol + 2 + size);
						at = eol + 2 + size + 2;
					}
					body = text;
				} else {
					const length = Number(headers["content-length"] ?? 0);
					if (body.length < length) return false;
					body = body.slice(0, length);
				}
				resolve({ status: Number(statusLine.split(" ")[1]), headers, body });
				return true;
			};
			this.socket.on("data", chunk => {
				this.received += chunk.toString("latin1");
				parse();
			});
			this.socket.once("close", () => {
				if (!parse()) reject(new Error(`closed without an answer: ${this.received}`));
			});
		});
		this.answer.catch(() => undefined);
	}

	/** Writes `bytes` of filler (in 64 KiB pieces, waiting on the socket), unless an answer came. */
	async send(bytes: number, stopOnAnswer = true): Promise<number> {
		let answered = false;
		this.answer.then(
			() => (answered = true),
			() => undefined,
		);
		const piece = Buffer.alloc(64 * 1024, 0x20);
		let sent = 0;
		while (sent < bytes && !this.closedFlag && !(stopOnAnswer && answered)) {
			const size = Math.min(piece.length, bytes - sent);
			const flushed = this.socket.write(
				size === piece.length ? piece : piece.subarray(0, size),
			);
			sent += size;
			if (!flushed)
				await new Promise<void>(resolve => {
					const done = () => {
						this.socket.off("drain", done);
						this.socket.off("close", done);
						resolve();
					};
					this.socket.once("drain", done);
					this.socket.once("close", done);
				});
		}
		return sent;
	}

	/** Writes one chunk of a chunked body. */
	chunk(bytes: number): void {
		this.socket.write(`${bytes.toString(16)}\r\n${" ".repeat(bytes)}\r\n`);
	}

	get isClosed(): boolean {
		return this.closedFlag;
	}

	destroy(): void {
		this.socket.destroy();
	}
}

/** The head of a POST with the given headers (Host and the method line added). */
export function postHead(path: string, headers: Record<string, string | number>): string {
	return (
		`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
		Object.entries(headers)
			.map(([name, value]) => `${name}: ${value}\r\n`)
			.join("") +
		"\r\n"
	);
}
