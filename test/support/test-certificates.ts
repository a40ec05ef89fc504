/**
 * A throwaway PKI for TLS tests, made with openssl: a CA, a server certificate for localhost and
 * 127.0.0.1 signed by it, a client certificate signed by it, and a second CA that signed
 * neither (a wrong CA). EC P-256 keys, so generating them takes milliseconds.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface TestCertificates {
	dir: string;
	ca: string;
	serverCert: string;
	serverKey: string;
	clientCert: string;
	clientKey: string;
	/** A CA that signed none of the certificates above. */
	otherCa: string;
}

function openssl(dir: string, args: string[]): void {
	execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function selfSignedCa(dir: string, name: string, subject: string): void {
	openssl(dir, [
		"req",
		"-x509",
		...EC_KEY,
		"-keyout",
		`${name}.key`,
		"-out",
		`${name}.pem`,
		"-days",
		"2",
		"-subj",
		subject,
	]);
}

function signed(dir: string, name: string, subject: string, extensions: string): void {
	openssl(dir, [
		"req",
		...EC_KEY,
		"-keyout",
		`${name}.key`,
		"-out",
		`${name}.csr`,
		"-subj",
		subject,
	]);
	fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
	openssl(dir, [
		"x509",
		"-req",
		"-in",
		`${name}.csr`,
		"-CA",
		"ca.pem",
		"-CAkey",
		"ca.key",
		"-CAcreateserial",
		"-out",
		`${name}.pem`,
		"-days",
		"2",
		"-extfile",
		`${name}.ext`,
	]);
}

/** Writes the certificates into `dir` (created if needed) and returns their paths. */
export function makeTestCertificates(dir: string): TestCertificates {
	fs.mkdirSync(dir, { recursive: true });
	selfSignedCa(dir, "ca", "/CN=modelfleet test CA");
	selfSignedCa(dir, "other-ca", "/CN=another CA");
	signed(
		dir,
		"server",
		"/CN=localhost",
		"subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
	);
	signed(dir, "client", "/CN=modelfleet-node", "extendedKeyUsage=clientAuth\n");
	const file = (name: string) => path.join(dir, name);
	return {
		dir,
		ca: file("ca.pem"),
		serverCert: file("server.pem"),
		serverKey: file("server.key"),
		clientCert: file("client.pem"),
		clientKey: file("client.key"),
		otherCa: file("other-ca.pem"),
	};
}
