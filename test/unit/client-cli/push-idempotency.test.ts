/**
 * `modelfleet models push` and idempotency keys, in process against a loopback server: each
 * push sends a key (its own, or `--idempotency-key`), and a push whose answer was lost prints
 * the key to push again with, on its one line of stderr.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runClientCli } from "../../../nodes/client-cli/program";
import { serve, type LoopbackServer } from "../../support/loopback-server";

describe("modelfleet models push with idempotency keys", () => {
	let dir: string;
	let file: string;
	let server: LoopbackServer;
	/** The Idempotency-Key of each upload the server saw. */
	let keys: (string | undefined)[];
	/** Drop the connection of the next upload instead of answering it. */
	let dropNext: boolean;
	let stderr: string;

	beforeAll(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-cli-push-"));
		file = path.join(dir, "m.onnx");
		fs.writeFileSync(file, "not read by this server");
		server = await serve((req, res) => {
			req.resume();
			req.on("end", () => {
				if (req.url?.startsWith("/api/v1/models/m/versions/upload")) {
					keys.push(req.headers["idempotency-key"] as string | undefined);
					if (dropNext) return void res.socket?.destroy();
				}
				res.writeHead(req.method === "POST" ? 201 : 200, {
					"content-type": "application/json",
				});
				res.end(
					JSON.stringify({ name: "m", version: "1.0.0", state: "Draft", format: "onnx" }),
				);
			});
		});
	});

	afterAll(async () => {
		await server.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	beforeEach(() => {
		keys = [];
		dropNext = false;
		stderr = "";
		jest.spyOn(process.stdout, "write").mockImplementation(() => true);
		jest.spyOn(process.stderr, "write").mockImplementation(chunk => {
			stderr += String(chunk);
			return true;
		});
	});

	afterEach(() => jest.restoreAllMocks());

	const push = (...extra: string[]) =>
		runClientCli(["models", "push", file, "-m", "m", "--json", ...extra], {
			MODELFLEET_URL: server.url,
			MODELFLEET_API_KEY: "mf_k",
			XDG_CONFIG_HOME: dir,
		});

	it("sends --idempotency-key, and a new key of its own on each push without it", async () => {
		expect(await push("--idempotency-key", "release-42")).toBe(0);
		expect(await push()).toBe(0);
		expect(await push()).toBe(0);
		expect(keys[0]).toBe("release-42");
		expect(keys[1]).toMatch(/^[0-9a-f-]{36}$/);
		expect(keys[2]).toMatch(/^[0-9a-f-]{36}$/);
		expect(keys[2]).not.toBe(keys[1]);
	});

	it("prints the key to push again with when the answer was lost", async () => {
		dropNext = true;
		expect(await push()).toBe(1);
		const lines = stderr.trimEnd().split("\n");
		expect(lines).toHaveLength(1);
		expect(lines[0]).toMatch(/\(NETWORK_ERROR\); the version may have been made/);
		expect(lines[0]).toContain(`--idempotency-key ${keys[0]} `);
	});
});
