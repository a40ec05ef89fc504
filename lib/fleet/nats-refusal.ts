/**
 * Which failures to connect to NATS are final. A server that is down or unreachable may come
 * back, and Moleculer retries every 5 s; one that rejects the node's credentials or whose TLS
 * does not verify will answer the same way forever, so the node should stop and say why.
 */
import { NatsRefusedError } from "../errors";

/** nats.js error codes that mean the server does not accept these credentials. */
const CREDENTIAL_CODES = new Set([
	"AUTHORIZATION_VIOLATION",
	"AUTHENTICATION_EXPIRED",
	"ACCOUNT_EXPIRED",
	"BAD_AUTHENTICATION",
	"BAD_CREDS",
]);

/** Node's codes for a certificate that does not verify, or a failed handshake. */
const NODE_TLS_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|^EPROTO$/;

/** The refusal a connection error means, or null when retrying may succeed. */
export function natsRefusal(err: unknown): NatsRefusedError | null {
	if (err === null || typeof err !== "object") return null;
	const { code, message } = err as { code?: unknown; message?: unknown };
	const text = typeof message === "string" && message !== "" ? message : String(code);
	if (typeof code !== "string") return null;
	if (CREDENTIAL_CODES.has(code)) return new NatsRefusedError("credentials", text);
	if (code === "SERVER_OPT_NA" && text === "tls")
		return new NatsRefusedError("tls", "the server does not offer TLS");
	if (code === "TLS" || NODE_TLS_CODE.test(code))
		return new NatsRefusedError("tls", `${code}: ${text}`);
	return null;
}
