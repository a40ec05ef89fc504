/**
 * The operator REPL in a real terminal: an all-in-one node runs as a child process over the
 * real NATS server, `modelfleet repl` joins it inside tmux, and the `fleet` commands are typed
 * into it and read back from the screen.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { NodeProcess, REPO_ROOT, freePort } from "../support/node-process";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";
import { seedPgliteDatabase } from "../support/pglite-template";

const OWNER_KEY = `mf_repl-test-${randomUUID()}`;
const PROMPT = "modelfleet $";
const NODE_ID = "repl-test-aio";

/** A shell word, for the command tmux runs. */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

describeWithServices(["nats"], "the operator REPL driven in a terminal", () => {
	const namespace = `repl-test-${randomUUID().slice(0, 8)}`;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-repl-"));
	// A tmux server of its own, its socket in the test's directory: removed with it.
	const socket = path.join(dir, "tmux.sock");
	let node: NodeProcess;
	let base: string;
	let acmeKey: string;
	let acmeId: string;
	let tmuxStarted = false;

	const tmux = (...args: string[]): string =>
		execFileSync("tmux", ["-S", socket, ...args], { encoding: "utf8" });

	/** Everything on the terminal so far, scrollback included, wrapped lines joined. */
	function screen(): string[] {
		return tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "repl")
			.split("\n")
			.map(line => line.trimEnd());
	}

	const promptLines = (lines: readonly string[]): number[] =>
		lines.flatMap((line, i) => (line.startsWith(PROMPT) ? [i] : []));

	function describeScreen(): string {
		let text: string;
		try {
			text = screen().join("\n");
		} catch (err) {
			text = `(no screen: ${(err as Error).message})`;
		}
		return `--- terminal ---\n${text}\n--- node ---\n${node?.log ?? ""}`;
	}

	/** Types a line into the REPL and answers what it printed before the next prompt. */
	async function type(line: string, timeoutMs = 10_000): Promise<string[]> {
		const before = promptLines(screen()).length;
		tmux("send-keys", "-t", "repl", "-l", line);
		tmux("send-keys", "-t", "repl", "Enter");
		return waitFor(
			`the answer to '${line}'`,
			() => {
				const lines = screen();
				const prompts = promptLines(lines);
				if (prompts.length <= before) return undefined;
				return lines.slice(prompts[before - 1] + 1, prompts[before]);
			},
			timeoutMs,
		).catch(err => {
			throw new Error(`${(err as Error).message}\n${describeScreen()}`);
		});
	}

	async function api(
		route: string,
		init: { method?: string; body?: unknown; key?: string; bytes?: Uint8Array } = {},
	): Promise<{ status: number; body: unknown }> {
		const response = await fetch(`${base}${route}`, {
			method: init.method ?? "GET",
			headers: {
				authorization: `Bearer ${init.key ?? OWNER_KEY}`,
				"content-type": init.bytes ? "application/octet-stream" : "application/json",
			},
			body: init.bytes ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
		});
		return { status: response.status, body: await response.json() };
	}

	const row = (...cells: string[]): RegExp =>
		new RegExp(`^${cells.map(c => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s+")}`);

	beforeAll(async () => {
		const port = await freePort();
		base = `http://127.0.0.1:${port}`;
		await seedPgliteDatabase(path.join(dir, "data"));
		node = NodeProcess.start(NODE_ID, "all-in-one", {
			TRANSPORTER: serviceUrl("nats"),
			MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
			MODELFLEET_NAMESPACE: namespace,
			MODELFLEET_NODE_ID: NODE_ID,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
			MODELFLEET_DATA_DIR: path.join(dir, "data"),
			MODELFLEET_GPUS: "none",
			MODELFLEET_STATUS_INTERVAL_MS: "300",
			MODELFLEET_RECONCILE_INTERVAL_MS: "200",
			HOST: "127.0.0.1",
			PORT: String(port),
			METRICS_PORT: "off",
			LOG_LEVEL: "warn",
		});
		await waitFor(
			"the all-in-one node to be ready",
			async () => ((await fetch(`${base}/health/ready`)).status === 200 ? true : undefined),
			30_000,
			200,
		).catch(err => {
			throw new Error(`${(err as Error).message}\n${node.log}`);
		});

		expect(
			(
				await api("/api/v1/models", {
					method: "POST",
					body: { name: "mlp", task: "classification", framework: "onnx" },
				})
			).status,
		).toBe(201);
		const upload = await api(
			"/api/v1/models/mlp/versions/upload?version=1.0.0&fileName=mlp.onnx&state=Validated",
			{ method: "POST", bytes: writeMlpModel() },
		);
		expect(upload.status).toBe(201);

		// A second tenant with a model of its own, for --tenant and for a key that may not use it.
		const acme = await api("/api/v1/tenants", { method: "POST", body: { name: "acme" } });
		expect(acme.status).toBe(201);
		acmeKey = (acme.body as { ownerKey: { key: string } }).ownerKey.key;
		acmeId = (acme.body as { tenant: { id: string } }).tenant.id;
		const acmeModel = await api("/api/v1/models", {
			method: "POST",
			key: acmeKey,
			body: { name: "acme-forecast", task: "regression", framework: "onnx" },
		});
		expect(acmeModel.status).toBe(201);

		const env = {
			PATH: process.env.PATH ?? "",
			HOME: dir, // moleculer-repl keeps its history file there
			TERM: "xterm-256color",
			TRANSPORTER: serviceUrl("nats"),
			MODELFLEET_NAMESPACE: namespace,
			MODELFLEET_API_KEY: OWNER_KEY,
		};
		const command = [
			"env",
			"-i",
			...Object.entries(env).map(([k, v]) => quote(`${k}=${v}`)),
			quote(process.execPath),
			"--require",
			quote(path.join(REPO_ROOT, "scripts", "ts-register.js")),
			quote(path.join(REPO_ROOT, "nodes", "cli.ts")),
			"repl",
			// Keeps the pane (and what it printed) if the REPL ends early.
			"; echo '[repl exited]'; sleep 600",
		].join(" ");
		tmux("new-session", "-d", "-s", "repl", "-x", "220", "-y", "50", "-c", REPO_ROOT, command);
		tmuxStarted = true;
		await waitFor(
			"the REPL's prompt after logging in",
			() => {
				const lines = screen();
				return lines.some(l => l.startsWith("logged in as owner of tenant 'default'")) &&
					promptLines(lines).length > 0
					? true
					: undefined;
			},
			20_000,
			200,
		).catch(err => {
			throw new Error(`${(err as Error).message}\n${describeScreen()}`);
		});
	}, 60_000);

	afterAll(async () => {
		if (tmuxStarted) {
			try {
				tmux("kill-server");
			} catch {
				// already gone
			}
		}
		node?.kill("SIGKILL");
		await node?.exited;
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it("shows the node with its role, capacity, load and replicas", async () => {
		const out = await type("fleet nodes");
		expect(out[0]).toMatch(
			row("NODE", "ROLE", "CORES", "MEMORY", "GPUS", "LOAD", "REPLICAS", "STATE"),
		);
		expect(out[1]).toMatch(row(NODE_ID, "all-in-one"));
		expect(out[1]).toMatch(
			/\s\d+(\.\d+)?\s+\d+\.\d GiB\s+-\s+cpu \d+\.\d\d, 0 active\s+0\s+up, leader$/,
		);
		expect(out).toHaveLength(2);
	}, 15_000);

	it("deploys, places, predicts, scales, lists and undeploys through the fleet commands", async () => {
		const deployed = await type("fleet deploy mlp --replicas 1");
		expect(deployed[0]).toMatch(
			row("DEPLOYMENT", "VERSIONS", "REPLICAS", "READY", "STATUS", "RESOURCES"),
		);
		expect(deployed[1]).toMatch(row("mlp", "1.0.0 100%", "1", "0"));

		const placed = await waitFor(
			"a ready replica in fleet placements",
			async () => {
				const out = await type("fleet placements");
				return out.some(l => row("mlp", "default", "1.0.0 100%", "1", NODE_ID).test(l))
					? out
					: undefined;
			},
			15_000,
			300,
		);
		expect(placed[0]).toMatch(row("DEPLOYMENT", "TENANT", "VERSIONS", "READY", "NODES"));

		const nodes = await type("fleet nodes");
		expect(nodes[1]).toMatch(/\s1\s+up, leader$/);

		const predicted = await type(
			'fleet predict mlp {"instances": [[1, 2, 3, 4], [-1, 0, 1, 0]]}',
		);
		expect(predicted).toEqual([
			`mlp@1.0.0 (node ${NODE_ID}, cpu)`,
			expect.stringMatching(row("OUTPUT", "DATATYPE", "SHAPE", "DATA")),
			expect.stringMatching(row("logits", "FP32", "[2, 2]", "[0.75, 4, -0.25, 2]")),
			expect.stringMatching(row("probabilities", "FP32", "[2, 2]", "[0.03733, 0.9627,")),
		]);

		const scaled = await type("fleet scale mlp 2");
		expect(scaled[1]).toMatch(row("mlp", "1.0.0 100%", "2"));

		const models = await type("fleet models");
		expect(models).toEqual([
			expect.stringMatching(row("MODEL", "TASK", "FRAMEWORK", "VERSIONS")),
			expect.stringMatching(row("mlp", "classification", "onnx", "1.0.0 Deployed")),
		]);

		expect(await type("fleet undeploy mlp")).toEqual(["undeployed mlp."]);
		const after = await type("fleet models");
		expect(after[1]).toMatch(row("mlp", "classification", "onnx", "1.0.0 Validated"));
		expect(await type("fleet placements")).toEqual(["no deployments."]);
	}, 45_000);

	it("lists another tenant's models with --tenant for the admin tenant's owner", async () => {
		const out = await type("fleet models --tenant acme");
		expect(out).toEqual([
			expect.stringMatching(row("MODEL", "TASK", "FRAMEWORK", "VERSIONS")),
			expect.stringMatching(row("acme-forecast", "regression", "onnx", "-")),
		]);
	}, 15_000);

	it("runs moleculer-repl's raw call as the logged-in key, whatever tenant its meta names", async () => {
		// The fleet believes only the signed identity the REPL got at login, never --#tenant.
		const out = (
			await type(`call registry.models.list --#tenant ${acmeId} --#role owner`)
		).join("\n");
		expect(out).toContain(">> Response:");
		expect(out).toContain("name: 'mlp'");
		expect(out).not.toContain("acme-forecast");
	}, 15_000);

	it("says what training offers", async () => {
		const out = await type("fleet jobs");
		// Until the fleet offers scheduler.jobs.list; then its table or "no training jobs."
		expect(out[0]).toMatch(/^no training jobs\.$/);
	}, 15_000);

	it("prints each mistake as one clear error line", async () => {
		expect(await type("fleet scale nope 2")).toEqual(["error: deployment 'nope' not found."]);
		expect(await type("fleet deploy mlp --replicas lots")).toEqual([
			"error: --replicas must be a whole number (0 or more), not 'lots'.",
		]);
		expect(await type("fleet predict mlp {bad")).toEqual([
			expect.stringMatching(/^error: The request is not valid JSON /),
		]);
		expect(await type(`fleet login ${acmeKey}`)).toEqual([
			expect.stringMatching(/^logged in as owner of tenant 'acme' \(key /),
		]);
		expect(await type("fleet models --tenant default")).toEqual([
			"error: Role 'owner' may not act for tenant 'default' (--tenant); it needs one of: owner of an admin tenant.",
		]);
	}, 20_000);
});
