/**
 * How a node reaches NATS and proves who it is: the servers and credentials of TRANSPORTER
 * (`nats://user:pass@host:4222`, `nats://token@host`, `tls://…`, several comma-separated) and
 * the MODELFLEET_NATS_* settings (a creds file or an nkey seed file; a CA, client certificate
 * and key for TLS). Validated at start; nothing here ever puts a password or token in a message.
 */
import {
	readSettingFile,
	checkCaFile,
	checkCertificateAndKey,
	type FailSetting,
} from "./tls-files";

export const NATS_SETTING = {
	transporter: "TRANSPORTER",
	creds: "MODELFLEET_NATS_CREDS",
	nkeySeed: "MODELFLEET_NATS_NKEY_SEED",
	tlsCa: "MODELFLEET_NATS_TLS_CA",
	tlsCert: "MODELFLEET_NATS_TLS_CERT",
	tlsKey: "MODELFLEET_NATS_TLS_KEY",
} as const;

/** How the node authenticates to the NATS server. */
export type NatsAuth =
	| { kind: "none" }
	| { kind: "password"; user: string; pass: string }
	| { kind: "token"; token: string }
	/** A NATS credentials file (user JWT and nkey seed), as `nsc` writes it. */
	| { kind: "creds"; file: string }
	/** A file holding a user nkey seed (SU…), as `nk -gen user` writes it. */
	| { kind: "nkey"; seedFile: string };

export interface NatsTls {
	/** The CA that signed the server's certificate; null: the system's CAs. */
	caFile: string | null;
	/** The client certificate and key, for servers that verify clients; null: none. */
	certFile: string | null;
	keyFile: string | null;
}

export interface NatsSettings {
	/** `host:port` of each server, credentials removed. */
	servers: string[];
	/** TRANSPORTER with any password or token replaced by `***`: safe to print and log. */
	displayUrl: string;
	auth: NatsAuth;
	/** Set: TLS is required (a tls:// URL or a MODELFLEET_NATS_TLS_* setting). Null: plain, unless the server demands TLS. */
	tls: NatsTls | null;
}

/** The raw values of the settings, as read from the environment. */
export interface NatsSettingsInput {
	transporter: string | null;
	credsFile: string | null;
	nkeySeedFile: string | null;
	tlsCaFile: string | null;
	tlsCertFile: string | null;
	tlsKeyFile: string | null;
}

const DEFAULT_PORT = "4222";
const FORM =
	"a NATS URL such as nats://127.0.0.1:4222, nats://user:password@host:4222, nats://token@host or tls://host:4222";

interface ServerUrl {
	tls: boolean;
	hostPort: string;
	display: string;
	auth: NatsAuth;
}

/**
 * One URL of TRANSPORTER; a string is the problem, which never repeats its credentials.
 * `position` is "" for the only URL, "URL 2 " for the second of several.
 */
function parseServerUrl(text: string, position: string): ServerUrl | string {
	let url: URL;
	try {
		url = new URL(text);
	} catch {
		// Whatever comes before an @ may be a password or token.
		const safe = text.includes("@") ? `…${text.slice(text.lastIndexOf("@"))}` : text;
		return `${position}"${safe}" is not ${FORM}`;
	}
	const shown = `"${url.protocol}//${url.host}${url.pathname}"`;
	if (url.protocol !== "nats:" && url.protocol !== "tls:")
		return `${position}${shown} is not ${FORM}`;
	if (url.hostname === "" || !["", "/"].includes(url.pathname) || url.search || url.hash)
		return `${position}${shown} is not ${FORM}`;
	const hostPort = url.port === "" ? `${url.host}:${DEFAULT_PORT}` : url.host;
	const user = decode(url.username);
	const pass = decode(url.password);
	if (user === null || pass === null)
		return `${position}${shown} has credentials that are not valid percent-encoding`;
	const tls = url.protocol === "tls:";
	if (user !== "" && url.password !== "")
		return {
			tls,
			hostPort,
			display: `${url.protocol}//${url.username}:***@${url.host}`,
			auth: { kind: "password", user, pass },
		};
	if (url.password !== "") return `${position}${shown} has a password but no user`;
	if (user !== "")
		return {
			tls,
			hostPort,
			display: `${url.protocol}//***@${url.host}`,
			auth: { kind: "token", token: user },
		};
	return { tls, hostPort, display: `${url.protocol}//${url.host}`, auth: { kind: "none" } };
}

function decode(text: string): string | null {
	try {
		return decodeURIComponent(text);
	} catch {
		return null;
	}
}

function sameAuth(a: NatsAuth, b: NatsAuth): boolean {
	return JSON.stringify(a) === JSON.stringify(b);
}

/** TRANSPORTER with its credentials hidden, for messages and logs; unparseable parts elided. */
export function redactNatsUrl(text: string): string {
	return text
		.split(",")
		.map(part => {
			const parsed = parseServerUrl(part.trim(), "");
			return typeof parsed === "string" ? "…" : parsed.display;
		})
		.join(",");
}

/** TRANSPORTER's URLs, each problem noted; the ones that parse. */
function parseServers(transporter: string, note: FailSetting): ServerUrl[] {
	const parts = transporter.split(",").map(part => part.trim());
	const urls: ServerUrl[] = [];
	parts.forEach((part, i) => {
		const parsed = parseServerUrl(part, parts.length === 1 ? "" : `URL ${i + 1} `);
		if (typeof parsed === "string") note(NATS_SETTING.transporter, parsed);
		else urls.push(parsed);
	});
	return urls;
}

/** The credentials the URLs carry; noted when they differ between URLs. */
function urlAuth(urls: readonly ServerUrl[], note: FailSetting): NatsAuth {
	const withCredentials = urls.filter(url => url.auth.kind !== "none");
	if (withCredentials.some(url => !sameAuth(url.auth, withCredentials[0].auth)))
		note(
			NATS_SETTING.transporter,
			"its URLs carry different credentials; give every URL the same ones, or only the first",
		);
	return withCredentials[0]?.auth ?? { kind: "none" };
}

/** The node's credentials: the URL's, a creds file's or an nkey seed's; only one may be given. */
function resolveAuth(input: NatsSettingsInput, fromUrl: NatsAuth, note: FailSetting): NatsAuth {
	let auth = fromUrl;
	const credentialSources = [
		...(auth.kind !== "none" ? [`${NATS_SETTING.transporter} (${auth.kind} in the URL)`] : []),
		...(input.credsFile !== null ? [NATS_SETTING.creds] : []),
		...(input.nkeySeedFile !== null ? [NATS_SETTING.nkeySeed] : []),
	];
	if (credentialSources.length > 1) {
		note(
			input.nkeySeedFile !== null ? NATS_SETTING.nkeySeed : NATS_SETTING.creds,
			`only one way to authenticate may be given, not ${credentialSources.join(" and ")}`,
		);
	}
	if (input.credsFile !== null) {
		const text = readSettingFile(input.credsFile);
		if (typeof text === "string") note(NATS_SETTING.creds, text);
		else if (
			!/BEGIN NATS USER JWT/.test(text.toString()) ||
			!/BEGIN USER NKEY SEED/.test(text.toString())
		)
			note(
				NATS_SETTING.creds,
				`${input.credsFile} is not a NATS credentials file (a user JWT and an nkey seed, as nsc writes)`,
			);
		auth = { kind: "creds", file: input.credsFile };
	}
	if (input.nkeySeedFile !== null) {
		const text = readSettingFile(input.nkeySeedFile);
		if (typeof text === "string") note(NATS_SETTING.nkeySeed, text);
		else if (!/^SU[A-Z2-7]{56}$/.test(text.toString().trim()))
			note(
				NATS_SETTING.nkeySeed,
				`${input.nkeySeedFile} does not hold a user nkey seed (SU…, as \`nk -gen user\` writes)`,
			);
		auth = { kind: "nkey", seedFile: input.nkeySeedFile };
	}
	return auth;
}

/** TLS when a TLS file is given or a URL asks for it (tls://); the files checked. */
function resolveTls(
	input: NatsSettingsInput,
	urls: readonly ServerUrl[],
	note: FailSetting,
): NatsTls | null {
	const tlsSettings =
		input.tlsCaFile !== null || input.tlsCertFile !== null || input.tlsKeyFile !== null;
	checkCaFile(note, NATS_SETTING.tlsCa, input.tlsCaFile);
	checkCertificateAndKey(
		note,
		{ setting: NATS_SETTING.tlsCert, file: input.tlsCertFile },
		{ setting: NATS_SETTING.tlsKey, file: input.tlsKeyFile },
	);
	return tlsSettings || urls.some(url => url.tls)
		? { caFile: input.tlsCaFile, certFile: input.tlsCertFile, keyFile: input.tlsKeyFile }
		: null;
}

/**
 * Resolves the NATS settings; every problem goes to `fail`, naming its setting. Null when
 * TRANSPORTER is unset (a node of one process), or when a problem was found.
 */
export function resolveNatsSettings(
	input: NatsSettingsInput,
	fail: FailSetting,
): NatsSettings | null {
	const fileSettings: Array<[string, string | null]> = [
		[NATS_SETTING.creds, input.credsFile],
		[NATS_SETTING.nkeySeed, input.nkeySeedFile],
		[NATS_SETTING.tlsCa, input.tlsCaFile],
		[NATS_SETTING.tlsCert, input.tlsCertFile],
		[NATS_SETTING.tlsKey, input.tlsKeyFile],
	];
	if (input.transporter === null) {
		for (const [setting, value] of fileSettings)
			if (value !== null)
				fail(
					setting,
					`is set but TRANSPORTER is not: a node without TRANSPORTER uses no NATS`,
				);
		return null;
	}
	const problems = { count: 0 };
	const note: FailSetting = (setting, problem) => {
		problems.count++;
		fail(setting, problem);
	};

	const urls = parseServers(input.transporter, note);
	const auth = resolveAuth(input, urlAuth(urls, note), note);
	const tls = resolveTls(input, urls, note);

	if (problems.count > 0) return null;
	return {
		servers: urls.map(url => url.hostPort),
		displayUrl: urls.map(url => url.display).join(","),
		auth,
		tls,
	};
}
