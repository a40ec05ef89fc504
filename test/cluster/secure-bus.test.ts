/**
 * A fleet of real processes (gateway, control, worker) on a nats-server of the test's own that
 * takes TLS only, verifies client certificates and wants a user and password. With the right
 * credentials the fleet serves a prediction; a node with none, a wrong password or without the
 * CA that signed the server's certificate cannot join: it says why in one line that names the
 * settings (never the password) and exits with 1.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { startNatsServer, type NatsServerProcess } from "../support/nats-server-process";
import { freePort } from "../support/node-process";
import { describeWithPrograms } from "../support/programs";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_secure-bus-${randomUUID()}`;
const PASSWORD = `pw-${randomUUID()}`;
const WRONG_PASSWORD = `wrong-${randomUUID()}`;

describeWithPrograms(["nats-server", "openssl"], "an authenticated, TLS-only NATS", () =>
	describeWithServices(["postgres"], "a fleet on it", () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-secure-bus-"));
		let certs: TestCertificates;
		let nats: NatsServerProcess;
		let cluster: FleetProcesses;
		let database: { url: string; drop(): Promise<void> };
		let base: string;
		let url: (credentials: string) => string;

		beforeAll(async () => {
			certs = makeTestCertificates(path.join(dir, "certs"));
			nats = await startNatsServer(
				dir,
				[
					`tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}",`,
					`  ca_file: "${certs.ca}", verify: true, timeout: 2 }`,
					`authorization { users: [ { user: "fleet", password: "${PASSWORD}" } ] }`,
					// Durable domain events need JetStream (docs/events.md).
					`jetstream { store_dir: "${path.join(dir, "jetstream")}" }`,
				].join("\n"),
			);
			url = credentials => `tls://${credentials}127.0.0.1:${nats.port}`;
			cluster = new FleetProcesses("secure-bus", {
				...FAST_LOOPS,
				TRANSPORTER: url(`fleet:${PASSWORD}@`),
				MODELFLEET_NATS_TLS_CA: certs.ca,
				MODELFLEET_NATS_TLS_CERT: certs.clientCert,
				MODELFLEET_NATS_TLS_KEY: certs.clientKey,
				MODELFLEET_PREDICTION_EVENTS_INTERVAL_S: "0.5",
			});
			database = await createPostgresDatabase();
			const port = await freePort();
			base = `http://127.0.0.1:${port}/api/v1`;
			cluster.start("gateway", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
			cluster.start("control", "control", {
				DATABASE_URL: database.url,
				MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
			});
			cluster.start("worker", "worker", {
				MODELFLEET_CPUS: "2",
				MODELFLEET_MEMORY: "4GiB",
				MODELFLEET_GPUS: "none",
				MODELFLEET_POOL_THREADS: "1",
			});
		}, 30_000);

		afterAll(async () => {
			await cluster?.killAll();
			await nats?.stop();
			await database?.drop();
			fs.rmSync(dir, { recursive: true, force: true });
		});

		async function nodeIds(): Promise<string[]> {
			const reply = await apiClient(base, OWNER_KEY)("/nodes");
			if (reply.status !== 200) return [];
			return (reply.body as Array<{ nodeID: string; available: boolean }>)
				.filter(n => n.available)
				.map(n => n.nodeID);
		}

		it("serves a prediction through gateway, control and worker", async () => {
			await waitFor(
				"gateway, control and worker on the bus",
				async () => ((await nodeIds()).length === 3 ? true : undefined),
				60_000,
				250,
			).catch(cluster.failWithLogs);

			const owner = apiClient(base, OWNER_KEY);
			const created = await owner("/models", {
				method: "POST",
				body: { name: "mlp", task: "classification", framework: "onnx" },
			});
			expect(created.status).toBe(201);
			const uploaded = await fetch(
				`${base}/models/mlp/versions/upload?version=1.0.0&fileName=m.onnx&state=Validated`,
				{
					method: "POST",
					headers: { authorization: `Bearer ${OWNER_KEY}` },
					body: writeMlpModel(),
				},
			);
			expect(uploaded.status).toBe(201);
			const predicted = await owner("/models/mlp/predict", {
				method: "POST",
				body: { instances: [[1, 2, 3, 4]] },
			});
			if (predicted.status !== 200)
				throw new Error(`${JSON.stringify(predicted.body)}\n${cluster.logs()}`);
			expect(predicted.headers.get("x-modelfleet-node")).toBe("worker");

			// The durable events crossed the same authenticated TLS bus, from control and worker.
			const types = await waitFor(
				"the events on JetStream",
				async () => {
					const page = (await owner("/events")).body as {
						items?: Array<{ event: { type: string } }>;
					};
					const seen = (page.items ?? []).map(i => i.event.type);
					return seen.includes("io.modelfleet.prediction.summary") ? seen : undefined;
				},
				30_000,
				250,
			).catch(cluster.failWithLogs);
			expect(types.slice(0, 2)).toEqual([
				"io.modelfleet.model.created",
				"io.modelfleet.version.created",
			]);
			expect(cluster.logs()).not.toContain("JetStream is not available");

			const banner = cluster.get("gateway").log;
			expect(banner).toContain(`transporter  ${url("fleet:***@")} (TLS, user and password)`);
			expect(cluster.logs()).not.toContain(PASSWORD);
		}, 90_000);

		it("turns away nodes with no credentials, a wrong password or no CA, and they exit with 1", async () => {
			const intruders = [
				cluster.start("no-credentials", "worker", { TRANSPORTER: url("") }),
				cluster.start("wrong-password", "worker", {
					TRANSPORTER: url(`fleet:${WRONG_PASSWORD}@`),
				}),
				cluster.start("no-ca", "worker", { MODELFLEET_NATS_TLS_CA: "" }),
			];
			const exits = await waitFor(
				"the three intruders to exit",
				() => (intruders.every(n => n.child.exitCode !== null) ? intruders : undefined),
				45_000,
				100,
			).catch(cluster.failWithLogs);
			expect(exits.map(node => node.child.exitCode)).toEqual([1, 1, 1]);

			const [noCredentials, wrongPassword, noCa] = intruders.map(node => node.log);
			expect(noCredentials).toMatch(/NATS refused this node's credentials.*TRANSPORTER/);
			expect(wrongPassword).toMatch(/NATS refused this node's credentials.*TRANSPORTER/);
			expect(noCa).toMatch(/TLS to NATS failed.*MODELFLEET_NATS_TLS_CA/);
			for (const log of [wrongPassword, noCa]) {
				expect(log).not.toContain(WRONG_PASSWORD);
				expect(log).not.toContain(PASSWORD);
			}
			expect(await nodeIds()).toEqual(expect.not.arrayContaining(["no-credentials"]));
		}, 60_000);
	}),
);
