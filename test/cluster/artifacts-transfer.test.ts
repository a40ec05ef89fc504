/**
 * The "done when": a 300 MB artifact goes from one process to a control node in a
 * second over the real NATS server and is read back by a third; the hash matches and no
 * process's resident memory grows by 100 MB or more (each samples its RSS every 50 ms).
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DownloadedArtifact } from "../../lib/artifacts/artifact-download";
import type { StoredArtifact } from "../../lib/artifacts/artifact-protocol";
import { sha256OfFile } from "../support/artifact-data";
import type { RssFigures } from "../support/artifact-memory";
import { ArtifactProcess } from "../support/artifact-process";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";

const SIZE = 300 * 1000 * 1000;
const RSS_LIMIT = 100 * 1000 * 1000;
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1) + " MB";

interface UploadResult {
	stored: StoredArtifact;
	sentSha256: string;
	elapsedMs: number;
	memory: RssFigures;
}

interface DownloadResult {
	downloaded: DownloadedArtifact;
	elapsedMs: number;
	memory: RssFigures;
}

describeWithServices(["nats"], "a 300 MB artifact across three processes over NATS", () => {
	const namespace = `artifacts-cluster-${randomUUID().slice(0, 8)}`;
	const root = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifacts-cluster-"));
	const processes: ArtifactProcess[] = [];
	const env = {
		TRANSPORTER: serviceUrl("nats"),
		MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
		MODELFLEET_NAMESPACE: namespace,
		METRICS_PORT: "off",
		LOG_LEVEL: "warn",
	};

	function start(name: string, script: string, args: string[] = []): ArtifactProcess {
		const child = ArtifactProcess.start(name, script, args, {
			...env,
			MODELFLEET_NODE_ID: name,
			MODELFLEET_DATA_DIR: path.join(root, name),
		});
		processes.push(child);
		return child;
	}

	afterAll(async () => {
		for (const child of processes) child.kill("SIGKILL");
		await Promise.all(processes.map(p => p.exited));
		fs.rmSync(root, { recursive: true, force: true });
	});

	it("stores it with the sender's hash, reads it back intact, and each process grows < 100 MB in RSS", async () => {
		const control = start("control-1", "artifact-node.ts");
		await control.line("ARTIFACT-NODE READY", 20_000);

		const uploader = start("uploader", "artifact-client.ts", ["upload", String(SIZE), "42"]);
		const upload = await uploader.json<UploadResult>("ARTIFACT-CLIENT RESULT", 90_000);
		expect(upload.stored).toEqual({ sha256: upload.sentSha256, size: SIZE, created: true });
		const sha256 = upload.stored.sha256;
		const blob = path.join(
			root,
			"control-1",
			"artifacts",
			"sha256",
			sha256.slice(0, 2),
			sha256,
		);
		expect(fs.statSync(blob).size).toBe(SIZE);

		const destination = path.join(root, "reader", "model.bin");
		const reader = start("reader", "artifact-client.ts", ["download", sha256, destination]);
		const download = await reader.json<DownloadResult>("ARTIFACT-CLIENT RESULT", 90_000);
		expect(download.downloaded).toEqual({ sha256, size: SIZE, path: destination });
		expect(await sha256OfFile(destination)).toEqual({ sha256, size: SIZE });

		control.kill("SIGTERM");
		const controlMemory = await control.json<RssFigures>("ARTIFACT-NODE MEMORY", 10_000);

		const growth = {
			uploader: upload.memory.growthBytes,
			control: controlMemory.growthBytes,
			reader: download.memory.growthBytes,
		};
		console.log(
			`300 MB artifact over NATS: upload ${upload.elapsedMs} ms, download ${download.elapsedMs} ms; ` +
				`peak RSS growth: uploader ${mb(growth.uploader)}, control ${mb(growth.control)}, reader ${mb(growth.reader)}`,
		);
		for (const [name, bytes] of Object.entries(growth)) {
			expect({ process: name, growth: mb(bytes), under100MB: bytes < RSS_LIMIT }).toEqual({
				process: name,
				growth: mb(bytes),
				under100MB: true,
			});
		}
	}, 150_000);
});
