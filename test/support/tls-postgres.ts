/**
 * A PostgreSQL server of a test's own that takes TLS connections only (hostssl in pg_hba.conf),
 * with a certificate signed by the test's CA, on a free port in a temporary directory. initdb
 * refuses to run as root, so as root the server runs as the `postgres` user.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./node-process";
import type { TestCertificates } from "./test-certificates";

/** Where initdb and pg_ctl are: PG_BIN, or PostgreSQL 15's directory on Debian. */
export function postgresBinDir(): string {
	const candidates = [process.env.PG_BIN, "/usr/lib/postgresql/15/bin"];
	return (
		candidates.find(
			(dir): dir is string => dir !== undefined && fs.existsSync(path.join(dir, "initdb")),
		) ?? "/usr/lib/postgresql/15/bin"
	);
}

export interface TlsPostgres {
	port: number;
	/** postgres://postgres@127.0.0.1:<port>/postgres?<query>, e.g. query "sslmode=require". */
	url(query: string): string;
	/** Stops the server at once (immediate shutdown) and removes its files. */
	stop(): void;
}

/** Runs a PostgreSQL program, as the postgres user when this process is root. */
function runAs(program: string, args: string[]): void {
	const bin = path.join(postgresBinDir(), program);
	const asRoot = process.getuid?.() === 0;
	execFileSync(asRoot ? "runuser" : bin, asRoot ? ["-u", "postgres", "--", bin, ...args] : args, {
		stdio: ["ignore", "ignore", "pipe"],
	});
}

/** Gives `file` to the postgres user (when root) with the mode the server requires. */
function own(file: string, mode: number): void {
	if (process.getuid?.() === 0) execFileSync("chown", ["-R", "postgres:postgres", file]);
	fs.chmodSync(file, mode);
}

/**
 * Initialises a cluster in a new temporary directory, with TLS on and plain connections
 * refused, and starts it.
 */
export async function startTlsPostgres(certs: TestCertificates): Promise<TlsPostgres> {
	const port = await freePort();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-tls-postgres-"));
	const data = path.join(dir, "data");
	own(dir, 0o700);
	runAs("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
	fs.copyFileSync(certs.serverCert, path.join(data, "server.crt"));
	fs.copyFileSync(certs.serverKey, path.join(data, "server.key"));
	fs.appendFileSync(
		path.join(data, "postgresql.conf"),
		[
			`port = ${port}`,
			"listen_addresses = '127.0.0.1'",
			`unix_socket_directories = '${dir}'`,
			"ssl = on",
			"ssl_cert_file = 'server.crt'",
			"ssl_key_file = 'server.key'",
			"fsync = off",
			"",
		].join("\n"),
	);
	// TLS or nothing: a connection that does not encrypt finds no pg_hba entry.
	fs.writeFileSync(
		path.join(data, "pg_hba.conf"),
		"local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
	);
	own(path.join(data, "server.key"), 0o600);
	own(data, 0o700);
	runAs("pg_ctl", ["-D", data, "-l", path.join(dir, "postgres.log"), "-w", "start"]);
	return {
		port,
		url: query => `postgres://postgres@127.0.0.1:${port}/postgres?${query}`,
		stop() {
			try {
				runAs("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
			} finally {
				fs.rmSync(dir, { recursive: true, force: true });
			}
		},
	};
}
