/**
 * The `modelfleet` command-line client run as child processes against an all-in-one node
 * started by the test: login, push a model and a dataset with progress, train --follow to
 * completion, deploy, predict; a push sent again with its --idempotency-key makes no second
 * version; --json answers parse with nothing else on stdout; errors exit 1 with one line on
 * stderr, usage errors 2.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../support/node-process";
import { FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = "mf_cli-test-owner-key";
const IRIS = path.join(REPO_ROOT, "test", "fixtures", "datasets", "iris.csv");

interface Run {
	code: number | null;
	stdout: string;
	stderr: string;
}

describe("the modelfleet CLI against an all-in-one node", () => {
	let testNode: TestNode;
	let home: string;
	let mlpFile: string;

	/**
	 * Runs `modelfleet <args>` as a child (async: the node answers from this process); with
	 * `script`, under script(1), so its stdout is a terminal.
	 */
	function cli(args: string[], env: Record<string, string> = {}, script?: string): Promise<Run> {
		return new Promise((resolve, reject) => {
			const command = [
				process.execPath,
				"--require",
				path.join(REPO_ROOT, "scripts", "ts-register.js"),
				path.join(REPO_ROOT, "nodes", "cli.ts"),
				...args,
			];
			const quoted = command.map(a => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
			const child = spawn(
				script ?? command[0],
				script ? ["-qec", quoted, "/dev/null"] : command.slice(1),
				{
					cwd: REPO_ROOT,
					env: {
						PATH: process.env.PATH ?? "",
						HOME: home,
						XDG_CONFIG_HOME: path.join(home, "config"),
						...env,
					},
					stdio: ["ignore", "pipe", "pipe"],
				},
			);
			let stdout = "";
			let stderr = "";
			child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
			child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
			child.once("error", reject);
			child.once("close", code => resolve({ code, stdout, stderr }));
		});
	}

	/** A run that must succeed: its stdout, else the failure with what it printed. */
	async function ok(
		args: string[],
		env?: Record<string, string>,
		script?: string,
	): Promise<string> {
		const run = await cli(args, env, script);
		if (run.code !== 0)
			throw new Error(
				`modelfleet ${args.join(" ")} exited ${run.code}\n${run.stdout}\n${run.stderr}`,
			);
		return run.stdout;
	}

	/** An error run: exit code `code` and exactly one line on stderr. */
	async function fails(
		args: string[],
		code: number,
		env?: Record<string, string>,
	): Promise<string> {
		const run = await cli(args, env);
		expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code, stdout: "" });
		expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
		return run.stderr.trimEnd();
	}

	beforeAll(async () => {
		home = fs.mkdtempSync(path.join(os.tmpdir(), "mf-cli-home-"));
		mlpFile = path.join(home, "mlp.onnx");
		fs.writeFileSync(mlpFile, writeMlpModel());
		testNode = await startTestNode(OWNER_KEY, FAST_LOOPS_CPU_ONLY);
	});

	afterAll(async () => {
		await testNode?.stop();
		fs.rmSync(home, { recursive: true, force: true });
	});

	it("prints --version and --help on every command, and exits 2 on a usage error", async () => {
		const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
			version: string;
		};
		expect((await ok(["--version"])).trim()).toBe(pkg.version);
		for (const command of [
			["models", "push"],
			["datasets", "push"],
			["train"],
			["deploy"],
			["predict"],
			["nodes"],
			["usage"],
			["login"],
		])
			expect(await ok([...command, "--help"])).toMatch(/^Usage: modelfleet /);
		const missing = await cli(["models", "push", mlpFile]);
		expect(missing.code).toBe(2);
		expect(missing.stderr).toMatch(/--model/);
		expect(
			(await cli(["train", "--model", "x", "--dataset", "y", "-l", "z", "--epochs", "many"]))
				.code,
		).toBe(2);
	});

	it("logs in: checks the key and stores URL and key in a 0600 file", async () => {
		const gateway = testNode.node.httpUrl ?? "";
		await fails(["login", "--url", gateway, "--api-key", "mf_wrong-key"], 1);
		const out = await ok(["login", "--url", gateway, "--api-key", OWNER_KEY]);
		expect(out).toMatch(/logged in/);
		const file = path.join(home, "config", "modelfleet", "config.json");
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({
			url: gateway,
			apiKey: OWNER_KEY,
		});
	});

	it("pushes a model with byte progress, lists and shows it; --json parses", async () => {
		const out = await ok([
			"models",
			"push",
			mlpFile,
			"--model",
			"mlp",
			"--version",
			"1.0.0",
			"--state",
			"Validated",
		]);
		const size = fs.statSync(mlpFile).size;
		expect(out).toContain(`uploading mlp.onnx: ${size} B of ${size} B (100%)`);
		expect(out).toMatch(/^mlp@1\.0\.0 Validated \(onnx\)$/m);

		const pushed = JSON.parse(
			await ok(["models", "push", mlpFile, "-m", "mlp", "--bump", "minor", "--json"]),
		) as { version: string };
		expect(pushed.version).toBe("1.1.0");

		const list = JSON.parse(await ok(["models", "list", "--json"])) as Array<{ name: string }>;
		expect(list.map(m => m.name)).toEqual(["mlp"]);
		expect(await ok(["models", "list"])).toMatch(/^NAME\s+TASK\s+FRAMEWORK/);
		const shown = await ok(["models", "show", "mlp"]);
		expect(shown).toMatch(/1\.0\.0\s+Validated/);
		expect(shown).toMatch(/1\.1\.0\s+\w+/);

		expect(await ok(["models", "alias", "mlp", "champion", "1.0.0"])).toMatch(
			/champion → 1\.0\.0/,
		);
		const moved = JSON.parse(
			await ok(["models", "transition", "mlp", "1.1.0", "Training", "--json"]),
		) as { state: string };
		expect(moved.state).toBe("Training");
	});

	it("pushes a dataset and trains on it with --follow to completion", async () => {
		const pushed = await ok([
			"datasets",
			"push",
			IRIS,
			"--name",
			"iris",
			"--label-column",
			"label",
		]);
		expect(pushed).toMatch(/\(100%\)/);
		expect(pushed).toMatch(/^iris@1: 150 rows$/m);

		await ok(["models", "create", "iris", "--task", "classification", "--framework", "tfjs"]);
		const out = await ok([
			"train",
			"-m",
			"iris",
			"-d",
			"iris@1",
			"-l",
			"label",
			"--epochs",
			"3",
			"--spec",
			'{"seed":3}',
			"--follow",
		]);
		const epochs = [...out.matchAll(/^epoch (\d+)\/3 .*loss=[\d.]+.* eta \d+s$/gm)].map(m =>
			Number(m[1]),
		);
		expect(epochs).toEqual([1, 2, 3]);
		expect(out).toMatch(/^job \S+ completed: iris@0\.1\.0 /m);

		const job = JSON.parse(
			await ok([
				"train",
				"-m",
				"iris",
				"-d",
				"iris",
				"-l",
				"label",
				"--epochs",
				"2",
				"--follow",
				"--json",
			]),
		) as { state: string; result: { version: string } };
		expect(job.state).toBe("completed");
		expect(job.result.version).toBe("0.2.0");
	});

	it("draws live bars on a terminal: bytes for uploads, epochs with loss and ETA for training", async () => {
		// `script` gives the command a pseudo-terminal as its stdout.
		const script = ["/usr/bin/script", "/bin/script"].find(f => fs.existsSync(f));
		if (!script) return console.warn("no script(1): the terminal bars are not checked");
		const inTerminal = (args: string[]) => ok(args, {}, script);
		const upload = await inTerminal([
			"datasets",
			"push",
			IRIS,
			"--name",
			"iris-tty",
			"--label-column",
			"label",
		]);
		expect(upload).toMatch(/uploading iris\.csv \|[=█]+\| 100% 3\.8 KiB\/3\.8 KiB/);
		expect(upload).not.toMatch(/ of 3\.8 KiB/);
		const train = await inTerminal([
			"train",
			"-m",
			"iris",
			"-d",
			"iris-tty",
			"-l",
			"label",
			"--epochs",
			"2",
			"--follow",
		]);
		expect(train).toMatch(/epoch 2\/2 \|[=█]+\| loss \d\.\d{4} ETA \d+s/);
		expect(train).not.toMatch(/^epoch 1\/2 loss=/m);
	});

	it("deploys, predicts, scales and lists nodes and usage", async () => {
		expect(
			await ok(["deploy", "mlp", "--version", "1.0.0", "--wait", "--timeout", "60"]),
		).toMatch(/^mlp: 1\/1 ready/m);
		const answer = JSON.parse(
			await ok(["predict", "mlp", "--data", "[[1,2,3,4],[-1,0,1,0]]", "--json"]),
		) as { outputs: Array<{ name: string; data: number[] }> };
		const logits = answer.outputs.find(o => o.name === "logits")!.data;
		[0.75, 4, -0.25, 2].forEach((v, i) => expect(logits[i]).toBeCloseTo(v, 4));
		expect(await ok(["predict", "mlp", "--data", "[[1,2,3,4]]"])).toMatch(
			/^logits \[1×2\] FP32: \[0\.75,4\]$/m,
		);

		expect(JSON.parse(await ok(["scale", "mlp", "2", "--json"]))).toMatchObject({
			model: "mlp",
			replicas: 2,
		});
		// A canary of 1.2.0, rolled back, then promoted to all traffic.
		await ok([
			"models",
			"push",
			mlpFile,
			"-m",
			"mlp",
			"--version",
			"1.2.0",
			"--state",
			"Validated",
		]);
		expect(await ok(["canary", "mlp", "1.2.0", "--weight", "20"])).toMatch(
			/traffic 1\.0\.0:80 1\.2\.0:20$/m,
		);
		expect(await ok(["rollback", "mlp"])).toMatch(/traffic 1\.0\.0:100$/m);
		await ok(["canary", "mlp", "1.2.0", "--weight", "20"]);
		const promoted = JSON.parse(await ok(["promote", "mlp", "--json"])) as {
			traffic: Array<{ version: string; weight: number }>;
		};
		expect(promoted.traffic).toEqual([
			expect.objectContaining({ version: "1.2.0", weight: 100 }),
		]);
		expect((await cli(["canary", "mlp", "1.2.0", "--weight", "100"])).code).toBe(2);

		const nodes = JSON.parse(await ok(["nodes", "--json"])) as Array<{ role: string }>;
		expect(nodes.map(n => n.role)).toContain("all-in-one");
		expect(await ok(["nodes"])).toMatch(/^NODEID\s+ROLE\s+AVAILABLE/);
		const usage = JSON.parse(await ok(["usage", "--json"])) as { usage: unknown[] };
		expect(Array.isArray(usage.usage)).toBe(true);
		expect(await ok(["usage"])).toMatch(/^PERIOD\s+MODEL|^\(none\)$/m);
	});

	it("gives exit 1 and one line on stderr for a bad key, an unknown model and a bad file", async () => {
		expect(await fails(["models", "list"], 1, { MODELFLEET_API_KEY: "mf_not-a-key" })).toMatch(
			/^error: .*\(UNAUTHENTICATED, HTTP 401\)$/,
		);
		expect(await fails(["models", "show", "nope"], 1)).toMatch(/\(NOT_FOUND, HTTP 404\)$/);
		expect(
			await fails(
				["models", "push", path.join(home, "absent.onnx"), "-m", "mlp", "--json"],
				1,
			),
		).toMatch(/absent\.onnx/);
		const junk = path.join(home, "junk.onnx");
		fs.writeFileSync(junk, "this is not a model");
		expect(
			await fails(["models", "push", junk, "-m", "mlp", "--version", "3.0.0", "--json"], 1),
		).toMatch(/\(INVALID_MODEL_FILE, HTTP 400\)$/);
		expect(await fails(["predict", "mlp", "--data", "not json"], 2)).toMatch(/not JSON/);
	});

	it("pushes again with --idempotency-key without making a second version, and refuses a job's key", async () => {
		// The URL and key from the environment: this test needs no login before it.
		const env = { MODELFLEET_URL: testNode.node.httpUrl ?? "", MODELFLEET_API_KEY: OWNER_KEY };
		const push = (key: string) => [
			"models",
			"push",
			mlpFile,
			"-m",
			"keyed",
			"--bump",
			"minor",
			"--idempotency-key",
			key,
			"--json",
		];
		const one = JSON.parse(await ok(push("release-1"), env)) as { id: string; version: string };
		const two = JSON.parse(await ok(push("release-1"), env)) as { id: string; version: string };
		expect(two).toMatchObject({ id: one.id, version: "0.1.0" });
		const shown = JSON.parse(await ok(["models", "show", "keyed", "--json"], env)) as {
			versions: { version: string }[];
		};
		expect(shown.versions.map(v => v.version)).toEqual(["0.1.0"]);
		expect(await fails(push("job:1"), 1, env)).toMatch(
			/\(RESERVED_IDEMPOTENCY_KEY, HTTP 400\)$/,
		);
	});
});
