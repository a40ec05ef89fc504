/**
 * Brokers built by moleculer.config.ts joining nats-servers of the test's own: one that wants a
 * token over TLS, one with a user and password and an nkey user. The right credentials carry
 * calls; wrong ones, an untrusted certificate or TLS the server does not offer end the start
 * with NATS_REFUSED, whose message names the settings and never the secret.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBroker } from "moleculer";
import { nkeys } from "nats";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig, type Environment } from "../../lib/config/node-config";
import { NatsRefusedError } from "../../lib/errors";
import { startNode } from "../../nodes/start-node";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { startNatsServer, type NatsServerProcess } from "../support/nats-server-process";
import { describeWithPrograms } from "../support/programs";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates";

const TOKEN = `tok-${randomUUID()}`;
const PASSWORD = `pw-${randomUUID()}`;

describeWithPrograms(["nats-server", "openssl"], "joining NATS with credentials and TLS", () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-nats-auth-"));
	const namespace = `nats-auth-${randomUUID().slice(0, 8)}`;
	const started: ServiceBroker[] = [];
	let certs: TestCertificates;
	let tokenServer: NatsServerProcess;
	let userServer: NatsServerProcess;
	let seedFile: string;

	beforeAll(async () => {
		certs = makeTestCertificates(path.join(dir, "certs"));
		const user = nkeys.createUser();
		seedFile = path.join(dir, "node.nk");
		fs.writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
		[tokenServer, userServer] = await Promise.all([
			startNatsServer(
				dir,
				`authorization { token: "${TOKEN}" }\n` +
					`tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}" }`,
			),
			startNatsServer(
				dir,
				`authorization { users: [ { user: "fleet", password: "${PASSWORD}" }, ` +
					`{ nkey: "${user.getPublicKey()}" } ] }`,
			),
		]);
	});

	afterAll(async () => {
		await Promise.all(started.map(b => b.stop().catch(() => undefined)));
		await Promise.all([tokenServer?.stop(), userServer?.stop()]);
		fs.rmSync(dir, { recursive: true, force: true });
	});

	function broker(env: Environment, onNatsRefused?: (err: NatsRefusedError) => void) {
		const config = loadNodeConfig("worker", {
			LOG_LEVEL: "fatal",
			METRICS_PORT: "off",
			MODELFLEET_NAMESPACE: namespace,
			MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
			...env,
		});
		const b = new ServiceBroker(createBrokerOptions(config, { onNatsRefused }));
		started.push(b);
		return b;
	}

	/** Starts two brokers with `env`, one serving `echo.say`, and calls it from the other. */
	async function callAcross(env: Environment): Promise<unknown> {
		const server = broker({ ...env, MODELFLEET_NODE_ID: `echo-${randomUUID().slice(0, 6)}` });
		server.createService({
			name: `echo-${server.nodeID}`,
			actions: { say: () => `hello from ${server.nodeID}` },
		});
		const client = broker({ ...env, MODELFLEET_NODE_ID: `caller-${randomUUID().slice(0, 6)}` });
		await Promise.all([server.start(), client.start()]);
		await client.waitForServices(`echo-${server.nodeID}`, 5000);
		return client.call(`echo-${server.nodeID}.say`);
	}

	/** Starts a broker with `env` and resolves with the refusal it reports. */
	async function refusal(env: Environment): Promise<NatsRefusedError> {
		let report: (err: NatsRefusedError) => void = () => undefined;
		const refused = new Promise<NatsRefusedError>(resolve => (report = resolve));
		const b = broker(env, err => report(err));
		void b.start();
		return refused;
	}

	const tls = (): Environment => ({ MODELFLEET_NATS_TLS_CA: certs.ca });

	it("carries calls between nodes that present the token over TLS", async () => {
		const env = { TRANSPORTER: `tls://${TOKEN}@127.0.0.1:${tokenServer.port}`, ...tls() };
		await expect(callAcross(env)).resolves.toMatch(/^hello from echo-/);
	});

	it("carries calls between nodes that present a user and password", async () => {
		const env = { TRANSPORTER: `nats://fleet:${PASSWORD}@127.0.0.1:${userServer.port}` };
		await expect(callAcross(env)).resolves.toMatch(/^hello from echo-/);
	});

	it("keeps the password out of what a node tells the fleet about itself", async () => {
		const b = broker({ TRANSPORTER: `nats://fleet:${PASSWORD}@127.0.0.1:${userServer.port}` });
		await b.start();
		const options = await b.call("$node.options");
		const info = await b.call("$node.list");
		expect(JSON.stringify([options, info])).not.toContain(PASSWORD);
	});

	it("carries calls between nodes that sign with an nkey seed file", async () => {
		const env = {
			TRANSPORTER: `nats://127.0.0.1:${userServer.port}`,
			MODELFLEET_NATS_NKEY_SEED: seedFile,
		};
		await expect(callAcross(env)).resolves.toMatch(/^hello from echo-/);
	});

	it.each([
		["no token", () => `tls://127.0.0.1:${tokenServer.port}`],
		["a wrong token", () => `tls://not-the-token@127.0.0.1:${tokenServer.port}`],
	])("turns away a node with %s, naming the settings", async (_label, url) => {
		const err = await refusal({ TRANSPORTER: url(), ...tls() });
		expect(err).toBeInstanceOf(NatsRefusedError);
		expect(err.type).toBe("NATS_REFUSED");
		expect(err.data).toMatchObject({ reason: "credentials" });
		expect(err.message).toMatch(/Authorization Violation.*TRANSPORTER.*MODELFLEET_NATS_CREDS/);
		expect(err.message).not.toContain("not-the-token");
	});

	it("turns away a wrong password without repeating it", async () => {
		const wrong = `wrong-${randomUUID()}`;
		const err = await refusal({
			TRANSPORTER: `nats://fleet:${wrong}@127.0.0.1:${userServer.port}`,
		});
		expect(err.data).toMatchObject({ reason: "credentials" });
		expect(JSON.stringify({ message: err.message, data: err.data })).not.toContain(wrong);
	});

	it("turns away TLS to a server whose certificate the given CA did not sign", async () => {
		const err = await refusal({
			TRANSPORTER: `tls://${TOKEN}@127.0.0.1:${tokenServer.port}`,
			MODELFLEET_NATS_TLS_CA: certs.otherCa,
		});
		expect(err.data).toMatchObject({ reason: "tls" });
		expect(err.message).toMatch(/TLS to NATS failed.*MODELFLEET_NATS_TLS_CA/);
		expect(err.message).not.toContain(TOKEN);
	});

	it("turns away tls:// to a server that offers no TLS", async () => {
		const err = await refusal({
			TRANSPORTER: `tls://fleet:${PASSWORD}@127.0.0.1:${userServer.port}`,
		});
		expect(err.message).toContain("the server does not offer TLS");
	});

	it("fails a node's start with the refusal instead of retrying", async () => {
		const dataDir = path.join(dir, "refused-node");
		const start = startNode(
			"worker",
			{
				TRANSPORTER: `tls://fleet:${PASSWORD}@127.0.0.1:${tokenServer.port}`,
				...tls(),
				MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
				MODELFLEET_NAMESPACE: namespace,
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_GPUS: "none",
				METRICS_PORT: "off",
				LOG_LEVEL: "fatal",
			},
			() => undefined,
		);
		await expect(start).rejects.toBeInstanceOf(NatsRefusedError);
	}, 15_000);
});
