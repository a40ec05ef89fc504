/** Reading Server-Sent Events from a streaming fetch response, for tests. */

export interface SseFrame {
	id: string;
	event: string;
	/** The `data:` line, parsed as JSON. */
	data: { id: string; type: string; tenant: string; data: { model?: string } };
}

/** Reads frames until `count` events came or `timeoutMs` passed, then cancels the response. */
export async function readSse(
	response: Response,
	count: number,
	timeoutMs = 15_000,
): Promise<SseFrame[]> {
	const reader = response.body!.getReader();
	const decoder = new TextDecoder();
	const frames: SseFrame[] = [];
	let text = "";
	const deadline = Date.now() + timeoutMs;
	try {
		while (frames.length < count && Date.now() < deadline) {
			const chunk = await Promise.race([
				reader.read(),
				new Promise<null>(resolve =>
					setTimeout(() => resolve(null), deadline - Date.now()),
				),
			]);
			if (chunk === null || chunk.done) break;
			text += decoder.decode(chunk.value, { stream: true });
			let end: number;
			while ((end = text.indexOf("\n\n")) >= 0) {
				const lines = text.slice(0, end).split("\n");
				text = text.slice(end + 2);
				const fields = new Map<string, string>();
				for (const line of lines) {
					const colon = line.indexOf(": ");
					if (line.startsWith(":") || colon < 0) continue;
					fields.set(line.slice(0, colon), line.slice(colon + 2));
				}
				const data = fields.get("data");
				if (data !== undefined)
					frames.push({
						id: fields.get("id") ?? "",
						event: fields.get("event") ?? "",
						data: JSON.parse(data) as SseFrame["data"],
					});
			}
		}
	} finally {
		await reader.cancel().catch(() => undefined);
	}
	return frames;
}
