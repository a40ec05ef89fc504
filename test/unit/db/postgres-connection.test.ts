import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolvePostgresConnection } from "../../../lib/db/postgres-connection";
import { makeTestCertificates, type TestCertificates } from "../../support/test-certificates";

describe("resolvePostgresConnection", () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-pg-connection-"));
	let certs: TestCertificates;
	beforeAll(() => {
		certs = makeTestCertificates(dir);
	});
	afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

	function resolve(query: string) {
		const problems: string[] = [];
		const connection = resolvePostgresConnection(
			`postgres://mf:secret@db:5432/modelfleet?${query}`,
			problem => problems.push(problem),
		);
		return { connection, problems };
	}

	it("takes the TLS parameters out of the URL and keeps the others", () => {
		const { connection } = resolve("sslmode=require&application_name=mf");
		expect(connection?.connectionString).toBe(
			"postgres://mf:secret@db:5432/modelfleet?application_name=mf",
		);
	});

	it.each([
		["", false, null],
		["sslmode=disable", false, null],
		["sslmode=allow", false, { rejectUnauthorized: false }],
		["sslmode=prefer", { rejectUnauthorized: false }, false],
		["sslmode=require", { rejectUnauthorized: false }, null],
		["sslmode=verify-full", {}, null],
		["ssl=true", {}, null],
	])("gives %j libpq's meaning", (query, ssl, fallbackSsl) => {
		expect(resolve(query)).toEqual({
			connection: expect.objectContaining({ ssl, fallbackSsl }),
			problems: [],
		});
	});

	it("checks the chain but not the host name for require with a root certificate, as verify-ca", () => {
		for (const mode of ["require", "verify-ca"]) {
			const ssl = resolve(`sslmode=${mode}&sslrootcert=${certs.ca}`).connection?.ssl;
			expect(ssl).toMatchObject({ ca: fs.readFileSync(certs.ca, "utf8") });
			expect(ssl && ssl.rejectUnauthorized).toBeUndefined();
			expect(ssl && ssl.checkServerIdentity?.("db", {} as never)).toBeUndefined();
		}
		expect(resolve(`sslmode=verify-full&sslrootcert=${certs.ca}`).connection?.ssl).toEqual({
			ca: fs.readFileSync(certs.ca, "utf8"),
		});
	});

	it("sends a client certificate", () => {
		const ssl = resolve(`sslmode=require&sslcert=${certs.clientCert}&sslkey=${certs.clientKey}`)
			.connection?.ssl;
		expect(ssl).toMatchObject({
			cert: fs.readFileSync(certs.clientCert, "utf8"),
			key: fs.readFileSync(certs.clientKey, "utf8"),
		});
	});

	it("reports every problem, never the password", () => {
		const { connection, problems } = resolve(
			`sslmode=verify-ca&sslrootcert=${dir}/none.pem&sslcert=${certs.clientCert}&sslkey=${certs.serverKey}`,
		);
		expect(connection).toBeNull();
		expect(problems).toEqual([
			`sslrootcert: ${dir}/none.pem does not exist`,
			`sslkey: ${certs.serverKey} is not the key of the certificate in sslcert`,
		]);
		expect(resolve("sslmode=on").problems).toEqual([
			"sslmode=on is not one of disable, allow, prefer, require, verify-ca, verify-full",
		]);
		expect(resolve("sslmode=verify-ca").problems).toEqual([
			"sslmode=verify-ca needs sslrootcert=<the CA's certificate file>",
		]);
		expect(JSON.stringify(problems)).not.toContain("secret");
	});
});
