import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import * as path from "node:path";
import { ServiceBroker, Serializers } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { REPO_ROOT } from "../support/node-process";

function sha256(view: ArrayBufferView): string {
	return createHash("sha256")
		.update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
		.digest("hex");
}

describe("the transporter serializer", () => {
	it("writes a tensor as its bytes, not as a JSON number array", () => {
		const options = createBrokerOptions(loadNodeConfig("worker", {}));
		expect(options.serializer).toBeInstanceOf(Serializers.CBOR);
		const serializer = new Serializers.CBOR();
		serializer.init(new ServiceBroker({ logger: false }));
		const tensor = new Float32Array(100_000).map((_, i) => Math.sin(i));
		const packet = serializer.serialize({ params: { tensor } });
		// 4 bytes a float plus a small envelope; JSON would take ~20 bytes a float.
		expect(packet.length).toBeLessThan(tensor.byteLength + 100);
		expect(packet.length).toBeGreaterThanOrEqual(tensor.byteLength);
	});
});

describeWithServices(["nats"], "typed arrays between two processes over NATS", () => {
	const namespace = `serializer-test-${randomUUID().slice(0, 8)}`;
	const env = {
		TRANSPORTER: serviceUrl("nats"),
		MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
		MODELFLEET_NAMESPACE: namespace,
		METRICS_PORT: "off",
		LOG_LEVEL: "warn",
	};
	const child = spawn(
		process.execPath,
		[
			"--require",
			path.join(REPO_ROOT, "scripts", "ts-register.js"),
			path.join(__dirname, "..", "support", "tensor-echo-node.ts"),
		],
		{
			cwd: REPO_ROOT,
			env: { PATH: process.env.PATH ?? "", ...env },
			stdio: ["ignore", "pipe", "inherit"],
		},
	);
	const broker = new ServiceBroker(
		createBrokerOptions(
			loadNodeConfig("gateway", { ...env, MODELFLEET_NODE_ID: `caller-${namespace}` }),
		),
	);

	beforeAll(async () => {
		await new Promise<void>((resolve, reject) => {
			child.stdout!.on(
				"data",
				(chunk: Buffer) => chunk.toString().includes("TENSOR-ECHO READY") && resolve(),
			);
			child.once("exit", code => reject(new Error(`echo node exited with ${code}`)));
		});
		await broker.start();
		await broker.waitForServices(["tensor-echo"], 10_000);
	});

	afterAll(async () => {
		await broker.stop();
		child.kill("SIGTERM");
	});

	it.each([
		[
			"Float32Array",
			new Float32Array([0, -1.5, Math.PI, Number.MAX_VALUE, Number.NaN, -0, 1e-40]),
		],
		["Float64Array", new Float64Array([Math.E, -Number.MIN_VALUE, 1 / 3])],
		["Int32Array", new Int32Array([-(2 ** 31), 2 ** 31 - 1, 7])],
		["Uint8Array", new Uint8Array([0, 255, 128])],
		["BigInt64Array", new BigInt64Array([-(2n ** 63n), 42n])],
	])(
		"a %s arrives as the same type with the same bytes, and comes back so",
		async (name, tensor) => {
			const reply = await broker.call<
				{
					constructorName: string;
					byteLength: number;
					sha256: string;
					tensor: ArrayBufferView;
				},
				{ tensor: ArrayBufferView }
			>("tensor-echo.inspect", { tensor });
			expect(reply.constructorName).toBe(name);
			expect(reply.byteLength).toBe(tensor.byteLength);
			expect(reply.sha256).toBe(sha256(tensor));
			expect(reply.tensor.constructor.name).toBe(name);
			expect(sha256(reply.tensor)).toBe(sha256(tensor));
		},
	);

	// NATS refuses messages over its max_payload (1 MiB by default); larger ones travel in
	// chunks (docs/operations.md, "Large requests").
	it("carries a 768 KiB tensor intact", async () => {
		const tensor = new Float32Array(3 << 16).map((_, i) => i * 0.5);
		const reply = await broker.call<
			{ sha256: string; constructorName: string },
			{ tensor: Float32Array }
		>("tensor-echo.inspect", { tensor });
		expect(reply).toMatchObject({ constructorName: "Float32Array", sha256: sha256(tensor) });
	});
});
