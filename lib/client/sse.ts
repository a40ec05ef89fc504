/**
 * Server-Sent Events read from a fetch body: the `event:` and `data:` fields of each message
 * (text/event-stream as the WHATWG spec reads it: `\n`, `\r\n` or `\r` line ends, several
 * `data:` lines joined with `\n`, comments and unknown fields ignored).
 */
export interface SseMessage {
	/** `message` when the server named none. */
	event: string;
	data: string;
	id?: string;
}

/** The messages of `body` in order, as they arrive; ends when the stream does. */
export async function* readSse(
	body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
): AsyncGenerator<SseMessage> {
	const decoder = new TextDecoder();
	const parser = new SseParser();
	for await (const chunk of body as AsyncIterable<Uint8Array>) {
		yield* parser.push(decoder.decode(chunk, { stream: true }));
	}
	yield* parser.push(decoder.decode() + "\n\n");
}

/** Incremental parser: feed it text as it comes, get the messages completed by it. */
export class SseParser {
	private buffer = "";
	private event = "";
	private data: string[] = [];
	private id: string | undefined;

	push(text: string): SseMessage[] {
		this.buffer += text;
		const messages: SseMessage[] = [];
		for (;;) {
			const match = /\r\n|\r|\n/.exec(this.buffer);
			// A lone "\r" at the end may be the first half of "\r\n": wait for the next chunk.
			if (!match || (match[0] === "\r" && match.index === this.buffer.length - 1)) break;
			const line = this.buffer.slice(0, match.index);
			this.buffer = this.buffer.slice(match.index + match[0].length);
			const message = this.line(line);
			if (message) messages.push(message);
		}
		return messages;
	}

	private line(line: string): SseMessage | undefined {
		if (line === "") {
			if (this.data.length === 0) {
				this.event = "";
				return undefined;
			}
			const message: SseMessage = {
				event: this.event || "message",
				data: this.data.join("\n"),
			};
			if (this.id !== undefined) message.id = this.id;
			this.event = "";
			this.data = [];
			return message;
		}
		if (line.startsWith(":")) return undefined;
		const colon = line.indexOf(":");
		const field = colon === -1 ? line : line.slice(0, colon);
		let value = colon === -1 ? "" : line.slice(colon + 1);
		if (value.startsWith(" ")) value = value.slice(1);
		if (field === "event") this.event = value;
		else if (field === "data") this.data.push(value);
		else if (field === "id") this.id = value;
		return undefined;
	}
}
