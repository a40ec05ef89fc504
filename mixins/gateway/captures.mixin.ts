/**
 * The export of a deployment's captured predictions (docs/monitoring.md): every page of
 * `scheduler.monitoring.captures` streamed as NDJSON, one capture a line, oldest first; memory
 * stays about one page whatever the number of captures.
 */
import { Readable } from "node:stream";
import type { ServiceSchema } from "moleculer";
import { requires } from "../../lib/accounts/access";
import { SERVICE } from "../../lib/fleet/node-role";
import type { StoredCapture } from "../../lib/monitoring/capture-store";
import type { HttpContext } from "./http-context";

interface ExportParams {
	model: string;
	from?: string;
	to?: string;
}

interface CapturePage {
	items: StoredCapture[];
	nextAfter: number | null;
}

/** Stored batches a page holds (each up to a flush of one serving node). */
const PAGE = 20;

export function capturesMixin(): Partial<ServiceSchema> {
	return {
		actions: {
			/** `GET /api/v1/deployments/{model}/captures[?from=…&to=…]`: NDJSON, one capture a line. */
			exportCaptures: requires("models.write", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					from: { type: "string", optional: true, max: 64 },
					to: { type: "string", optional: true, max: 64 },
				},
				async handler(ctx: HttpContext<ExportParams>): Promise<Readable> {
					const { model, from, to } = ctx.params;
					const page = (after: number) =>
						ctx.call<CapturePage, object>(`${SERVICE.scheduler}.monitoring.captures`, {
							model,
							after,
							limit: PAGE,
							...(from !== undefined ? { from } : {}),
							...(to !== undefined ? { to } : {}),
						});
					// The first page before answering: a wrong model or date answers its own error.
					const first = await page(0);
					ctx.meta.$responseType = "application/x-ndjson";
					async function* lines(): AsyncGenerator<string> {
						let current: CapturePage = first;
						for (;;) {
							for (const item of current.items) yield `${JSON.stringify(item)}\n`;
							if (current.nextAfter === null) return;
							current = await page(current.nextAfter);
						}
					}
					return Readable.from(lines());
				},
			}),
		},
	};
}
