/**
 * nats.js connection options from a node's NATS settings (lib/settings/nats-settings.ts).
 * Credentials go in as authenticators — functions, which neither Moleculer's `$node.options`
 * nor any log serialises — and creds and seed files are read at each (re)connect, so a
 * rotated file is picked up without a restart.
 */
import * as fs from "node:fs";
import {
	credsAuthenticator,
	nkeyAuthenticator,
	tokenAuthenticator,
	usernamePasswordAuthenticator,
	type ConnectionOptions,
} from "nats";
import type { NatsSettings } from "../settings/nats-settings";

/** Credentials and TLS, passed to nats.js with the transporter's own options. */
export type NatsConnection = Pick<ConnectionOptions, "authenticator" | "tls">;

export function natsConnectOptions(settings: NatsSettings): {
	servers: string[];
	connection: NatsConnection;
} {
	const { auth, tls } = settings;
	const authenticator =
		auth.kind === "password"
			? usernamePasswordAuthenticator(auth.user, auth.pass)
			: auth.kind === "token"
				? tokenAuthenticator(auth.token)
				: auth.kind === "creds"
					? credsAuthenticator(() => fs.readFileSync(auth.file))
					: auth.kind === "nkey"
						? nkeyAuthenticator(() =>
								new TextEncoder().encode(
									fs.readFileSync(auth.seedFile, "utf8").trim(),
								),
							)
						: undefined;
	const connection: NatsConnection = {
		...(authenticator !== undefined ? { authenticator } : {}),
		...(tls !== null
			? {
					tls: {
						...(tls.caFile !== null ? { caFile: tls.caFile } : {}),
						...(tls.certFile !== null ? { certFile: tls.certFile } : {}),
						...(tls.keyFile !== null ? { keyFile: tls.keyFile } : {}),
					},
				}
			: {}),
	};
	return { servers: settings.servers, connection };
}
