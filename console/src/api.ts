/**
 * The console's calls to the gateway's REST API (docs/http-api.md), with the API key in the
 * `Authorization` header. Errors are the typed client's (lib/client/errors.ts) and event streams
 * are read with its SSE parser over fetch, because EventSource cannot send a header.
 */
import { apiErrorFrom, ModelfleetApiError } from "../../lib/client/errors";
import { SseParser, type SseMessage } from "../../lib/client/sse";

export { ModelfleetApiError };

type Query = Record<string, string | number | boolean | undefined | null>;

export interface Whoami {
	tenant: { id: string; name: string; isAdmin: boolean };
	role: "owner" | "developer" | "predictor" | "viewer";
	keyId: string | null;
	permissions: string[];
}

const enc = encodeURIComponent;
export { enc };

export class ConsoleApi {
	constructor(readonly key: string) {}

	private url(route: string, query: Query = {}): string {
		const params = new URLSearchParams();
		for (const [name, value] of Object.entries(query))
			if (value !== undefined && value !== null && value !== "")
				params.set(name, String(value));
		const search = params.toString();
		return `${route.startsWith("/v2") ? "" : "/api/v1"}${route}${search ? `?${search}` : ""}`;
	}

	/** One call; a refusal throws ModelfleetApiError with the gateway's message. */
	async send(
		route: string,
		init: {
			method?: string;
			query?: Query;
			json?: unknown;
			body?: Blob;
			type?: string;
			signal?: AbortSignal;
			accept?: string;
		} = {},
	): Promise<Response> {
		const headers: Record<string, string> = {
			authorization: `Bearer ${this.key}`,
			accept: init.accept ?? "application/json",
		};
		if (init.json !== undefined) headers["content-type"] = "application/json";
		if (init.type) headers["content-type"] = init.type;
		let response: Response;
		try {
			response = await fetch(this.url(route, init.query), {
				method: init.method ?? "GET",
				headers,
				body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
				signal: init.signal,
			});
		} catch (err) {
			if ((err as Error).name === "AbortError") throw err;
			throw new ModelfleetApiError(
				0,
				"NETWORK_ERROR",
				`Cannot reach the gateway: ${(err as Error).message}`,
			);
		}
		if (!response.ok) throw apiErrorFrom(response.status, await response.text());
		return response;
	}

	async json<T>(route: string, init: Parameters<ConsoleApi["send"]>[1] = {}): Promise<T> {
		const text = await (await this.send(route, init)).text();
		return (text === "" ? null : JSON.parse(text)) as T;
	}

	get<T>(route: string, query?: Query): Promise<T> {
		return this.json<T>(route, { query });
	}

	post<T>(route: string, json: unknown = {}, query?: Query): Promise<T> {
		return this.json<T>(route, { method: "POST", json, query });
	}

	patch<T>(route: string, json: unknown): Promise<T> {
		return this.json<T>(route, { method: "PATCH", json });
	}

	put<T>(route: string, json: unknown): Promise<T> {
		return this.json<T>(route, { method: "PUT", json });
	}

	del<T>(route: string): Promise<T> {
		return this.json<T>(route, { method: "DELETE" });
	}

	/** A file as the request body (an upload), with its query. */
	upload<T>(route: string, file: Blob, query: Query, type: string): Promise<T> {
		return this.json<T>(route, { method: "POST", body: file, query, type });
	}

	/** Server-Sent Events of `route` until `signal` aborts or the stream ends. */
	async stream(
		route: string,
		signal: AbortSignal,
		onMessage: (message: SseMessage) => void,
	): Promise<void> {
		const response = await this.send(route, { signal, accept: "text/event-stream" });
		if (!response.body) return;
		const reader = response.body.getReader();
		const decoder = new TextDecoder();
		const parser = new SseParser();
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			for (const message of parser.push(decoder.decode(value, { stream: true })))
				onMessage(message);
		}
		for (const message of parser.push(decoder.decode() + "\n\n")) onMessage(message);
	}

	/** Saves a file of the API (a model version's) through the browser's download. */
	async download(route: string, fileName: string): Promise<void> {
		const response = await this.send(route, { accept: "*/*" });
		const url = URL.createObjectURL(await response.blob());
		const link = document.createElement("a");
		link.href = url;
		link.download = fileName;
		document.body.append(link);
		link.click();
		link.remove();
		setTimeout(() => URL.revokeObjectURL(url), 10_000);
	}
}

/** A page of a list answer, or the plain array some routes answer. */
export function itemsOf<T>(answer: { items: T[] } | T[] | null): T[] {
	if (answer === null) return [];
	return Array.isArray(answer) ? answer : answer.items;
}
