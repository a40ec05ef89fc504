import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ArtifactCollector, type GcLogger } from "../../../lib/artifacts/artifact-gc";
import { ArtifactStore } from "../../../lib/artifacts/artifact-store";
import { ArtifactUploads } from "../../../lib/artifacts/artifact-uploads";
import { LeaseLostError } from "../../../lib/errors";
import { deterministicStream } from "../../support/artifact-data";

const HOUR = 3600_000;

describe("ArtifactCollector", () => {
	let root: string;
	let clock: number;
	let store: ArtifactStore;
	let oldSha: string;
	let logged: { level: string; text: string }[];
	const logger: GcLogger = {
		info: (...args) => logged.push({ level: "info", text: args.join(" ") }),
		warn: (...args) => logged.push({ level: "warn", text: args.join(" ") }),
	};

	beforeEach(async () => {
		root = fs.mkdtempSync(path.join(os.tmpdir(), "mf-artifact-gc-"));
		clock = Date.UTC(2026, 0, 1);
		store = new ArtifactStore({ root, gcGraceMs: HOUR, now: () => clock });
		await store.open();
		oldSha = (await new ArtifactUploads(store).put(deterministicStream(100))).sha256;
		clock += 2 * HOUR;
		logged = [];
	});

	afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

	it("skips with a log line and deletes nothing when no provider of references is given", async () => {
		const report = await new ArtifactCollector(store, undefined, logger).run();
		expect(report).toEqual({
			skipped: "no provider of referenced artifacts is configured",
			dryRun: false,
			deleted: [],
			freedBytes: 0,
			kept: { referenced: 0, withinGrace: 0 },
		});
		expect(logged).toEqual([{ level: "warn", text: expect.stringContaining("skipped") }]);
		await expect(store.stat(oldSha)).resolves.toMatchObject({ size: 100 });
	});

	it("skips with a log line and deletes nothing when the provider fails", async () => {
		const failing = async (): Promise<string[]> => {
			throw new Error("registry unreachable");
		};
		const report = await new ArtifactCollector(store, failing, logger).run();
		expect(report.skipped).toContain("registry unreachable");
		expect(report.deleted).toEqual([]);
		expect(logged[0]).toMatchObject({ level: "warn" });
		await expect(store.stat(oldSha)).resolves.toMatchObject({ size: 100 });
	});

	it("deletes what nothing references, keeps what is referenced, and logs what it did", async () => {
		const collector = new ArtifactCollector(store, async () => new Set<string>(), logger);
		const report = await collector.run();
		expect(report.deleted).toEqual([{ sha256: oldSha, size: 100 }]);
		expect(logged).toEqual([{ level: "info", text: expect.stringContaining("deleted 1") }]);
		await expect(store.list()).resolves.toEqual([]);
	});

	it("deletes nothing once its fence refuses (a leader whose lease lapsed)", async () => {
		const collector = new ArtifactCollector(store, async () => new Set<string>(), logger);
		const fence = jest.fn(async () => {
			throw new LeaseLostError("control", 3, "it expired");
		});
		await expect(collector.run({ fence })).rejects.toBeInstanceOf(LeaseLostError);
		expect(fence).toHaveBeenCalledTimes(1);
		await expect(store.stat(oldSha)).resolves.toMatchObject({ size: 100 });
		// A fence that lets it through: collected as usual.
		const report = await collector.run({ fence: async () => undefined });
		expect(report.deleted).toEqual([{ sha256: oldSha, size: 100 }]);
	});

	it("keeps a blob the provider lists", async () => {
		const collector = new ArtifactCollector(store, async () => [oldSha], logger);
		expect((await collector.run()).kept).toEqual({ referenced: 1, withinGrace: 0 });
		expect(logged).toEqual([]);
	});

	it("runs one collection at a time", async () => {
		let asked = 0;
		let release!: () => void;
		const gate = new Promise<void>(resolve => (release = resolve));
		const collector = new ArtifactCollector(
			store,
			async () => {
				asked++;
				await gate;
				return [];
			},
			logger,
		);
		const first = collector.run();
		const second = collector.run({ dryRun: true });
		await new Promise(resolve => setTimeout(resolve, 20));
		expect(asked).toBe(1);
		release();
		expect((await first).deleted).toHaveLength(1);
		expect((await second).deleted).toHaveLength(0);
		expect(asked).toBe(2);
	});
});
