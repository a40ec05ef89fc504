/** The TLS settings of loadNodeConfig: HTTPS, NATS and DATABASE_URL files, checked at start. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadNodeConfig, type Environment } from "../../../lib/config/node-config";
import { InvalidConfigurationError, type ConfigurationProblem } from "../../../lib/errors";
import { TEST_FLEET_SECRET } from "../../support/fleet-secret";
import { makeTestCertificates, type TestCertificates } from "../../support/test-certificates";

function problemsOf(
	env: Environment,
	role: "gateway" | "worker" = "gateway",
): ConfigurationProblem[] {
	try {
		loadNodeConfig(role, env);
	} catch (err) {
		if (err instanceof InvalidConfigurationError)
			return (err.data as { problems: ConfigurationProblem[] }).problems;
		throw err;
	}
	return [];
}

describe("TLS settings", () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-tls-settings-"));
	let certs: TestCertificates;
	beforeAll(() => {
		certs = makeTestCertificates(dir);
	});
	afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

	it("serves HTTPS with MODELFLEET_TLS_CERT and MODELFLEET_TLS_KEY", () => {
		const env = { MODELFLEET_TLS_CERT: certs.serverCert, MODELFLEET_TLS_KEY: certs.serverKey };
		expect(loadNodeConfig("all-in-one", env).httpsTls).toEqual({
			certFile: certs.serverCert,
			keyFile: certs.serverKey,
		});
		expect(loadNodeConfig("all-in-one", {}).httpsTls).toBeNull();
		// A worker serves no HTTP: it ignores them, even when they do not exist there.
		expect(loadNodeConfig("worker", { MODELFLEET_TLS_CERT: "/nowhere" }).httpsTls).toBeNull();
	});

	it("names each wrong certificate or key setting, all at once", () => {
		const missing = path.join(dir, "missing.pem");
		expect(
			problemsOf({
				MODELFLEET_TLS_CERT: missing,
				MODELFLEET_TLS_KEY: certs.serverKey,
				MODELFLEET_NATS_TLS_CA: certs.serverKey,
				TRANSPORTER: "tls://nats:4222",
				MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
				DATABASE_URL: `postgres://mf:secret@db/mf?sslmode=verify-full&sslrootcert=${missing}`,
			}),
		).toEqual([
			{
				setting: "MODELFLEET_NATS_TLS_CA",
				problem: `${certs.serverKey} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`,
			},
			{ setting: "DATABASE_URL", problem: `sslrootcert: ${missing} does not exist` },
			{ setting: "MODELFLEET_TLS_CERT", problem: `${missing} does not exist` },
		]);
	});

	it("wants a certificate with its own key", () => {
		expect(problemsOf({ MODELFLEET_TLS_KEY: certs.serverKey })).toEqual([
			{
				setting: "MODELFLEET_TLS_CERT",
				problem: "must be set with MODELFLEET_TLS_KEY (a certificate and its key)",
			},
		]);
		expect(
			problemsOf({
				MODELFLEET_TLS_CERT: certs.serverCert,
				MODELFLEET_TLS_KEY: certs.clientKey,
			}),
		).toEqual([
			{
				setting: "MODELFLEET_TLS_KEY",
				problem: `${certs.clientKey} is not the key of the certificate in MODELFLEET_TLS_CERT`,
			},
		]);
		expect(
			problemsOf({
				MODELFLEET_TLS_CERT: certs.serverCert,
				MODELFLEET_TLS_KEY: certs.serverCert,
			}),
		).toEqual([
			{
				setting: "MODELFLEET_TLS_KEY",
				problem: `${certs.serverCert} is not a PEM private key (-----BEGIN PRIVATE KEY-----)`,
			},
		]);
	});

	it("resolves TRANSPORTER with a client certificate for NATS", () => {
		const config = loadNodeConfig("worker", {
			TRANSPORTER: "tls://fleet:pw@nats:4222",
			MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
			MODELFLEET_NATS_TLS_CA: certs.ca,
			MODELFLEET_NATS_TLS_CERT: certs.clientCert,
			MODELFLEET_NATS_TLS_KEY: certs.clientKey,
		});
		expect(config.nats).toEqual({
			servers: ["nats:4222"],
			displayUrl: "tls://fleet:***@nats:4222",
			auth: { kind: "password", user: "fleet", pass: "pw" },
			tls: { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey },
		});
	});
});
