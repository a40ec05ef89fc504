/**
 * How to reach the PostgreSQL server of DATABASE_URL, with `sslmode` meaning what it means to
 * libpq (psql, and every other PostgreSQL client): pg on its own treats `require` as
 * `verify-full`, so a server with a self-signed certificate would be refused under the very
 * mode written to accept it. The TLS parameters are resolved here and taken out of the URL.
 */
import * as fs from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { readCertificate, checkCertificateAndKey } from "../settings/tls-files";

export const SSL_MODES = [
	"disable",
	"allow",
	"prefer",
	"require",
	"verify-ca",
	"verify-full",
] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** TLS options of a connection; false: plain. */
export type PostgresTls = false | ConnectionOptions;

export interface PostgresConnection {
	/** DATABASE_URL without its TLS parameters (pg would read them its own way). */
	connectionString: string;
	/** TLS of the first attempt. */
	ssl: PostgresTls;
	/** What a failed first attempt tries next (`allow`: TLS; `prefer`: plain); null: nothing. */
	fallbackSsl: PostgresTls | null;
	/** The mode in force, for the banner; "unset" is pg's default: plain. */
	mode: SslMode | "unset";
}

/** The URL parameters about TLS: libpq's, and pg's own `ssl` and `uselibpqcompat`. */
const TLS_PARAMETERS = ["sslmode", "sslrootcert", "sslcert", "sslkey", "ssl", "uselibpqcompat"];

/** Verifies the chain but not the host name (libpq's verify-ca). */
const skipHostname = (): undefined => undefined;

/**
 * Resolves DATABASE_URL's TLS settings, reading the certificate files it names. Each problem
 * (which never repeats the URL's password) goes to `fail`; null when there was one.
 */
export function resolvePostgresConnection(
	databaseUrl: string,
	fail: (problem: string) => void,
): PostgresConnection | null {
	let url: URL;
	try {
		url = new URL(databaseUrl);
	} catch {
		fail("is not a postgres:// URL");
		return null;
	}
	const param = (name: string): string | null => {
		const value = url.searchParams.get(name);
		return value === null || value === "" ? null : value;
	};
	let problems = 0;
	const note = (problem: string): void => {
		problems++;
		fail(problem);
	};

	const modeText = param("sslmode");
	const legacy = param("ssl");
	let mode: SslMode | "unset" = "unset";
	if (modeText !== null) {
		if ((SSL_MODES as readonly string[]).includes(modeText)) mode = modeText as SslMode;
		else note(`sslmode=${modeText} is not one of ${SSL_MODES.join(", ")}`);
	} else if (legacy !== null) {
		// pg's own parameter: ssl=true verifies everything, as pg does.
		if (["true", "1"].includes(legacy)) mode = "verify-full";
		else if (["false", "0"].includes(legacy)) mode = "disable";
		else note(`ssl=${legacy} is not true or false (or use sslmode=…)`);
	}

	const rootCert = param("sslrootcert");
	let ca: string | undefined;
	if (rootCert !== null && rootCert !== "system") {
		const certificate = readCertificate(rootCert);
		if (typeof certificate === "string") note(`sslrootcert: ${certificate}`);
		else ca = readPem(rootCert);
	}
	const certFile = param("sslcert");
	const keyFile = param("sslkey");
	const clientCert = checkCertificateAndKey(
		(setting, problem) => note(`${setting}: ${problem}`),
		{ setting: "sslcert", file: certFile },
		{ setting: "sslkey", file: keyFile },
	);
	if (mode === "verify-ca" && rootCert === null)
		note("sslmode=verify-ca needs sslrootcert=<the CA's certificate file>");
	if (problems > 0) return null;

	const client: ConnectionOptions =
		clientCert !== null
			? { cert: readPem(clientCert.certFile), key: readPem(clientCert.keyFile) }
			: {};
	// libpq: require with a root certificate checks the chain, as verify-ca does.
	const effective = mode === "require" && ca !== undefined ? "verify-ca" : mode;
	const noVerify: ConnectionOptions = { ...client, rejectUnauthorized: false };
	const tls: Record<SslMode | "unset", PostgresTls> = {
		unset: false,
		disable: false,
		allow: false,
		prefer: noVerify,
		require: noVerify,
		"verify-ca": { ...client, ca, checkServerIdentity: skipHostname },
		"verify-full": { ...client, ...(ca !== undefined ? { ca } : {}) },
	};

	for (const name of TLS_PARAMETERS) url.searchParams.delete(name);
	return {
		connectionString: url.toString(),
		ssl: tls[effective],
		fallbackSsl: mode === "allow" ? noVerify : mode === "prefer" ? false : null,
		mode,
	};
}

/** A PEM file checked readable just before; a CA bundle keeps all its certificates. */
function readPem(file: string): string {
	return fs.readFileSync(file, "utf8");
}
