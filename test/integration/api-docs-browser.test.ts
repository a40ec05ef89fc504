/**
 * The Swagger UI at /docs as headless Chromium renders it: the page loads its scripts from the
 * gateway (no CDN; the strict CSP allows nothing else), fetches /api/openapi.json and lists
 * every operation of the document. Skipped with a notice where Chromium is missing, unless
 * MODELFLEET_REQUIRE_SERVICES is set (CI), where it fails instead.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { describeWithChromium, renderedDom, screenshot } from "../support/chromium";
import { freePort } from "../support/node-process";
import { seededDataDir } from "../support/pglite-template";

describeWithChromium("/docs in headless Chromium", chromium => {
	let node: StartedNode;
	let base: string;

	beforeAll(async () => {
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(await freePort()),
				METRICS_PORT: "off",
				// Parallel tests would all bind 8001: this one needs no gRPC.
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: await seededDataDir("mf-api-docs-"),
				MODELFLEET_POOL_THREADS: "1",
			},
			() => undefined,
		);
		base = node.httpUrl ?? "";
	}, 60_000);

	afterAll(() => node?.stop());

	it("serves the page under a policy that allows only its own scripts", async () => {
		const response = await fetch(`${base}/docs`);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toMatch(/^text\/html/);
		expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
		const html = await response.text();
		expect(html).not.toMatch(/https?:\/\//);
		expect(html).not.toMatch(/<script>[^<]/);
	});

	it("renders every operation of the document", async () => {
		const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as {
			paths: Record<string, Record<string, { summary: string }>>;
		};
		const summaries = Object.values(document.paths).flatMap(ops =>
			Object.values(ops).map(op => op.summary),
		);
		const dom = await renderedDom(chromium, `${base}/docs`);
		const rendered = [
			...dom.matchAll(/class="opblock-summary-description"[^>]*>([^<]*)</g),
		].map(m => m[1].replace(/&amp;/g, "&"));
		expect(rendered.length).toBe(summaries.length);
		expect(rendered.sort()).toEqual([...summaries].sort());
		expect(dom).toContain("Create a model");
		expect(dom).toContain("Open Inference Protocol");
	}, 120_000);

	it("takes a screenshot of the page", async () => {
		const file = path.join(
			fs.mkdtempSync(path.join(os.tmpdir(), "mf-api-docs-shot-")),
			"docs.png",
		);
		await screenshot(chromium, `${base}/docs`, file);
		const png = fs.readFileSync(file);
		expect(png.subarray(1, 4).toString()).toBe("PNG");
		expect(png.length).toBeGreaterThan(10_000);
	}, 120_000);
});
