/** The all-in-one node's HTTP surface, started in-process as `npm start` starts it. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { freePort } from "../support/node-process";
import { waitFor } from "../support/wait";
import type { FleetNode } from "../../lib/fleet/node-inventory";

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
	const response = await fetch(url);
	return { status: response.status, body: await response.json() };
}

describe("all-in-one node over HTTP", () => {
	let node: StartedNode;
	const printed: string[] = [];
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-gateway-"));

	beforeAll(async () => {
		const port = await freePort();
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(port),
				METRICS_PORT: "off",
				LOG_LEVEL: "warn",
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_STATUS_INTERVAL_MS: "200",
			},
			line => printed.push(line),
		);
	});

	afterAll(() => node.stop());

	it("prints what it runs: role, nodeID, transporter, services and its URL", () => {
		const banner = printed.join("\n");
		expect(banner).toContain("all-in-one node started");
		expect(banner).toContain(`nodeID       ${node.broker.nodeID}`);
		expect(banner).toContain("transporter  none (one process)");
		expect(banner).toContain("services     agent, api, accounts, registry, scheduler");
		expect(banner).toContain("database     pglite");
		expect(banner).toContain(`http         ${node.httpUrl}`);
	});

	it("creates its data directory", () => {
		expect(fs.statSync(dataDir).isDirectory()).toBe(true);
	});

	it("answers /health/live and /health/ready with 200", async () => {
		expect(await getJson(`${node.httpUrl}/health/live`)).toEqual({
			status: 200,
			body: { status: "live", nodeID: node.broker.nodeID },
		});
		expect(await getJson(`${node.httpUrl}/health/ready`)).toEqual({
			status: 200,
			body: { ready: true, missing: [], nodeID: node.broker.nodeID },
		});
	});

	it("lists itself at /api/v1/nodes with its capacity and live status", async () => {
		const [self] = await waitFor(
			"a status for the node",
			async () => {
				const { body } = await getJson(`${node.httpUrl}/api/v1/nodes`);
				const list = body as FleetNode[];
				return list[0]?.status ? list : undefined;
			},
			3000,
		);
		expect(self).toMatchObject({
			nodeID: node.broker.nodeID,
			role: "all-in-one",
			available: true,
			services: ["accounts", "agent", "api", "registry", "scheduler"],
			capacity: { cpus: os.availableParallelism(), gpus: [] },
		});
		expect(self.status?.memoryFreeBytes).toBeGreaterThan(0);
	});

	it("filters nodes by role and refuses an unknown role with 400 naming the field", async () => {
		expect((await getJson(`${node.httpUrl}/api/v1/nodes?role=worker`)).body).toEqual([]);
		const wrong = await getJson(`${node.httpUrl}/api/v1/nodes?role=toaster`);
		expect(wrong.status).toBe(400);
		expect(wrong.body).toMatchObject({ type: "VALIDATION_ERROR", code: 400 });
		expect(JSON.stringify(wrong.body)).toContain("role");
	});

	it("answers 404 for a route it does not have", async () => {
		expect((await fetch(`${node.httpUrl}/api/v1/nothing-here`)).status).toBe(404);
	});
});

describe("a gateway with no control node in reach", () => {
	it("is live but not ready, and says which service is missing", async () => {
		const port = await freePort();
		const gateway = await startNode(
			"gateway",
			{
				HOST: "127.0.0.1",
				PORT: String(port),
				METRICS_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "mf-gw-")),
			},
			() => undefined,
		);
		try {
			expect((await getJson(`${gateway.httpUrl}/health/live`)).status).toBe(200);
			expect(await getJson(`${gateway.httpUrl}/health/ready`)).toEqual({
				status: 503,
				body: {
					ready: false,
					missing: ["accounts", "registry", "scheduler"],
					nodeID: gateway.broker.nodeID,
				},
			});
		} finally {
			await gateway.stop();
		}
	});
});
