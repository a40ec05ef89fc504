/**
 * Checks of the certificate and key files that settings name, made at start: a wrong path, a
 * file of the wrong kind or a key that does not belong to its certificate is a configuration
 * error naming the setting, not a TLS handshake that fails later with a vaguer message.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";

/** Records a problem with a setting (EnvReader.fail). */
export type FailSetting = (setting: string, problem: string) => void;

/** The file's bytes, or why it cannot be read (no such file, a directory, no permission). */
export function readSettingFile(file: string): Buffer | string {
	try {
		return fs.readFileSync(file);
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code === "ENOENT") return `${file} does not exist`;
		if (code === "EISDIR") return `${file} is a directory, not a file`;
		if (code === "EACCES") return `${file} cannot be read by this process (permissions)`;
		return `${file} cannot be read (${code ?? (err as Error).message})`;
	}
}

/** The certificate (the first one in a PEM bundle), or why the file is not one. */
export function readCertificate(file: string): crypto.X509Certificate | string {
	const bytes = readSettingFile(file);
	if (typeof bytes === "string") return bytes;
	try {
		return new crypto.X509Certificate(bytes);
	} catch {
		return `${file} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`;
	}
}

/** The private key, or why the file is not an unencrypted one. */
export function readPrivateKey(file: string): crypto.KeyObject | string {
	const bytes = readSettingFile(file);
	if (typeof bytes === "string") return bytes;
	try {
		return crypto.createPrivateKey(bytes);
	} catch (err) {
		return /passphrase/i.test((err as Error).message)
			? `${file} is an encrypted private key; give an unencrypted one (openssl pkey -in … -out …)`
			: `${file} is not a PEM private key (-----BEGIN PRIVATE KEY-----)`;
	}
}

/**
 * Checks a certificate setting and its key setting together: both or neither, each readable
 * and of its kind, and the key the certificate's. Returns both files when they are usable.
 */
export function checkCertificateAndKey(
	fail: FailSetting,
	cert: { setting: string; file: string | null },
	key: { setting: string; file: string | null },
): { certFile: string; keyFile: string } | null {
	if (cert.file === null && key.file === null) return null;
	if (cert.file === null || key.file === null) {
		const [set, missing] = cert.file === null ? [key, cert] : [cert, key];
		fail(missing.setting, `must be set with ${set.setting} (a certificate and its key)`);
		return null;
	}
	const certificate = readCertificate(cert.file);
	if (typeof certificate === "string") fail(cert.setting, certificate);
	const privateKey = readPrivateKey(key.file);
	if (typeof privateKey === "string") fail(key.setting, privateKey);
	if (typeof certificate === "string" || typeof privateKey === "string") return null;
	if (!certificate.checkPrivateKey(privateKey)) {
		fail(key.setting, `${key.file} is not the key of the certificate in ${cert.setting}`);
		return null;
	}
	return { certFile: cert.file, keyFile: key.file };
}

/** Checks a CA setting: a readable PEM certificate. Returns whether it is usable. */
export function checkCaFile(fail: FailSetting, setting: string, file: string | null): boolean {
	if (file === null) return false;
	const certificate = readCertificate(file);
	if (typeof certificate === "string") {
		fail(setting, certificate);
		return false;
	}
	return true;
}
