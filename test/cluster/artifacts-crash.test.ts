/**
 * A control node killed with SIGKILL in the middle of an upload: what it leaves on disk is a
 * temp file only, never a blob, and its next start deletes that temp file.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import { ARTIFACTS_SERVICE } from "../../lib/artifacts/artifact-protocol";
import { uploadArtifact } from "../../lib/artifacts/artifact-upload";
import { deterministicStream, listFiles } from "../support/artifact-data";
import { ArtifactProcess } from "../support/artifact-process";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { waitFor } from "../support/wait";

describeWithServices(["nats"], "a control node killed in the middle of an upload", () => {
	const namespace = `artifacts-crash-${randomUUID().slice(0, 8)}`;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifacts-crash-"));
	const artifactsDir = path.join(dataDir, "artifacts");
	const env = {
		TRANSPORTER: serviceUrl("nats"),
		MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
		MODELFLEET_NAMESPACE: namespace,
		METRICS_PORT: "off",
		MODELFLEET_HEARTBEAT_INTERVAL_S: "1",
		MODELFLEET_HEARTBEAT_TIMEOUT_S: "3",
	};
	const processes: ArtifactProcess[] = [];
	const client = new ServiceBroker(
		createBrokerOptions(
			loadNodeConfig("worker", {
				...env,
				LOG_LEVEL: "fatal",
				MODELFLEET_NODE_ID: "uploader",
			}),
		),
	);
	const call = client.call.bind(client);

	/** The control node started last. */
	let control: ArtifactProcess | null = null;

	function running(child: ArtifactProcess | null): child is ArtifactProcess {
		return child !== null && child.child.exitCode === null && child.child.signalCode === null;
	}

	async function startControl(): Promise<ArtifactProcess> {
		control = ArtifactProcess.start("control", "artifact-node.ts", [], {
			...env,
			LOG_LEVEL: "info",
			MODELFLEET_NODE_ID: "control-crash",
			MODELFLEET_DATA_DIR: dataDir,
		});
		processes.push(control);
		await control.line("ARTIFACT-NODE READY", 20_000);
		await client.waitForServices([ARTIFACTS_SERVICE], 10_000);
		return control;
	}

	function describeLogs(): string {
		return processes.map(p => `--- ${p.name} ---\n${p.log}`).join("\n");
	}

	beforeAll(() => client.start());

	afterAll(async () => {
		for (const child of processes) child.kill("SIGKILL");
		await Promise.all(processes.map(p => p.exited));
		await client.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("leaves only a temp file, which the next start deletes; then uploads work again", async () => {
		const first = await startControl();

		// An upload that never ends by itself: 64 KiB every 10 ms.
		let sent = 0;
		const endless = new Readable({
			read() {
				setTimeout(() => {
					sent += 65_536;
					this.push(Buffer.alloc(65_536, sent % 251));
				}, 10);
			},
		});
		const upload = uploadArtifact(call, endless, {
			partBytes: 64 * 1024 * 1024,
			timeout: 60_000,
		});
		const failed = upload.then(
			() => null,
			(err: Error) => err,
		);
		const temp = await waitFor(
			"bytes of the upload in a temp file",
			() => {
				const [name] = listFiles(path.join(artifactsDir, "tmp"));
				return name && fs.statSync(path.join(artifactsDir, "tmp", name)).size > 500_000
					? name
					: undefined;
			},
			15_000,
			20,
		);

		first.kill("SIGKILL");
		expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" });
		expect(listFiles(artifactsDir)).toEqual([`tmp/${temp}`]);

		// The uploader notices the node is gone (heartbeat timeout), gives up and stops reading.
		const error = await failed;
		expect(error?.name).toBe("RequestRejectedError");
		expect(endless.destroyed).toBe(true);

		const restarted = await startControl();
		expect(restarted.log).toContain("Deleted 1 temp file(s) of uploads cut off");
		expect(listFiles(artifactsDir)).toEqual([]);

		const stored = await uploadArtifact(call, deterministicStream(2_000_000, 3));
		expect(stored).toMatchObject({ size: 2_000_000, created: true });
		expect(listFiles(artifactsDir)).toEqual([
			`sha256/${stored.sha256.slice(0, 2)}/${stored.sha256}`,
		]);
	}, 60_000);

	it("deletes the temp file of an uploader killed midway once the uploader is seen gone", async () => {
		const node = running(control) ? control : await startControl();
		const blobs = listFiles(path.join(artifactsDir, "sha256"));
		const uploader = ArtifactProcess.start(
			"uploader",
			"artifact-client.ts",
			["upload", String(1e9), "9"],
			{
				...env,
				LOG_LEVEL: "warn",
				MODELFLEET_NODE_ID: "uploader-2",
				MODELFLEET_DATA_DIR: path.join(dataDir, "uploader-2"),
			},
		);
		processes.push(uploader);
		// Killed after the control node has seen it join: one that dies sooner is never known
		// to have left, and its part fails by the stall timeout (60 s) instead.
		await waitFor(
			"the control node to see the uploader join",
			() => (node.log.includes("Node 'uploader-2' connected") ? true : undefined),
			20_000,
		);
		await waitFor(
			"bytes of the upload in a temp file",
			() => {
				const [name] = listFiles(path.join(artifactsDir, "tmp"));
				return name && fs.statSync(path.join(artifactsDir, "tmp", name)).size > 5_000_000
					? name
					: undefined;
			},
			20_000,
			20,
		).catch(err => {
			throw new Error(`${(err as Error).message}\n${describeLogs()}`);
		});
		uploader.kill("SIGKILL");
		await uploader.exited;
		const killedAt = Date.now();
		await waitFor(
			"the temp file deleted",
			() => (listFiles(artifactsDir).every(f => !f.startsWith("tmp/")) ? true : undefined),
			10_000,
			50,
		).catch(err => {
			throw new Error(`${(err as Error).message}\n${describeLogs()}`);
		});
		// The heartbeat timeout (3 s, checked every second) and slack for a busy machine: not the
		// 60 s stall timeout, nor the 10-minute idle timeout.
		expect(Date.now() - killedAt).toBeLessThan(8000);
		expect(listFiles(path.join(artifactsDir, "sha256"))).toEqual(blobs);
	}, 60_000);
});
