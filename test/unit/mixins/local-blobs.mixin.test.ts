import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Errors, ServiceBroker, type Service } from "moleculer";
import { LocalBlobs } from "../../../lib/artifacts/local-blobs";
import { localBlobsMixin, type LocalBlobsService } from "../../../mixins/local-blobs.mixin";

describe("localBlobsMixin", () => {
	let dataDir: string;

	beforeEach(() => {
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-blobs-mixin-"));
	});

	afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

	it("makes the blobs before the service's created, opens them at start and closes them after the service's stop", async () => {
		const broker = new ServiceBroker({ logger: false });
		const order: string[] = [];
		const open = jest.spyOn(LocalBlobs.prototype, "open");
		const close = jest.spyOn(LocalBlobs.prototype, "close");
		open.mockImplementation(async () => void order.push("open"));
		close.mockImplementation(async () => void order.push("close"));
		const service = broker.createService({
			name: "reader",
			mixins: [localBlobsMixin({ dataDir })],
			created() {
				order.push(
					`created: ${(this as unknown as LocalBlobsService).blobs instanceof LocalBlobs}`,
				);
			},
			started() {
				order.push("started");
			},
			stopped() {
				order.push("stopped");
			},
		}) as Service & LocalBlobsService;
		await broker.start();
		expect(service.blobs).toBeInstanceOf(LocalBlobs);
		await broker.stop();
		expect(order).toEqual(["created: true", "open", "started", "stopped", "close"]);
		open.mockRestore();
		close.mockRestore();
	});

	it("answers null for a blob neither this node nor the fleet's artifacts service has", async () => {
		const broker = new ServiceBroker({ logger: false });
		broker.createService({
			name: "artifacts",
			actions: {
				stat() {
					throw new Errors.MoleculerClientError("no such blob", 404, "NOT_FOUND");
				},
			},
		});
		const service = broker.createService({
			name: "reader",
			mixins: [localBlobsMixin({ dataDir })],
		}) as Service & LocalBlobsService;
		await broker.start();
		try {
			await expect(service.blobs.path("0".repeat(64))).resolves.toBeNull();
		} finally {
			await broker.stop();
		}
	});

	it("throws, rather than answer 'not found', while no artifacts service is reachable", async () => {
		const broker = new ServiceBroker({ logger: false });
		const service = broker.createService({
			name: "reader",
			mixins: [localBlobsMixin({ dataDir })],
		}) as Service & LocalBlobsService;
		await broker.start();
		try {
			// A control node restarting: the blob may well exist, so a job reading it must not fail for good.
			await expect(service.blobs.path("0".repeat(64))).rejects.toBeInstanceOf(
				Errors.ServiceNotFoundError,
			);
		} finally {
			await broker.stop();
		}
	});
});
