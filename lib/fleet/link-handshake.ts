/**
 * The handshake that opens a direct link (lib/fleet/direct-links.ts): each side proves it holds
 * the fleet secret, bound to both node ids, the namespace and a fresh nonce from each side, so a
 * peer without the secret is refused before it can send one packet, and a recorded handshake
 * cannot be replayed. The connecting node speaks first:
 *
 *   hello   { v, namespace, from, to, nonce }   connecting → listening
 *   welcome { nonce, proof }                    listening  → connecting (proof of the listener)
 *   proof   { proof }                           connecting → listening (proof of the connector)
 *
 * Pure functions: no sockets, no clocks.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const LINK_PROTOCOL_VERSION = 1;

/** The key links are proved with: derived from the fleet secret, never the secret itself. */
export function linkKey(fleetSecret: string): Buffer {
	return createHmac("sha256", fleetSecret).update("modelfleet direct link v1").digest();
}

export function newNonce(): string {
	return randomBytes(16).toString("base64url");
}

export interface Hello {
	v: number;
	namespace: string;
	/** The connecting node. */
	from: string;
	/** The node it means to reach. */
	to: string;
	nonce: string;
}

export interface Welcome {
	nonce: string;
	proof: string;
}

export interface ProofMessage {
	proof: string;
}

/** Longest node id, namespace or nonce a handshake message may carry. */
const MAX_FIELD_LENGTH = 256;

function isField(value: unknown): value is string {
	return typeof value === "string" && value.length > 0 && value.length <= MAX_FIELD_LENGTH;
}

function parseObject(payload: Buffer): Record<string, unknown> | null {
	try {
		const value = JSON.parse(payload.toString("utf8")) as unknown;
		return value !== null && typeof value === "object" && !Array.isArray(value)
			? (value as Record<string, unknown>)
			: null;
	} catch {
		return null;
	}
}

export function parseHello(payload: Buffer): Hello | null {
	const value = parseObject(payload);
	if (value === null || value.v !== LINK_PROTOCOL_VERSION) return null;
	const { namespace, from, to, nonce } = value;
	if (typeof namespace !== "string" || namespace.length > MAX_FIELD_LENGTH) return null;
	if (!isField(from) || !isField(to) || !isField(nonce)) return null;
	return { v: LINK_PROTOCOL_VERSION, namespace, from, to, nonce };
}

export function parseWelcome(payload: Buffer): Welcome | null {
	const value = parseObject(payload);
	if (value === null || !isField(value.nonce) || !isField(value.proof)) return null;
	return { nonce: value.nonce, proof: value.proof };
}

export function parseProof(payload: Buffer): ProofMessage | null {
	const value = parseObject(payload);
	if (value === null || !isField(value.proof)) return null;
	return { proof: value.proof };
}

/** Which side a proof is of: a proof of one side never verifies as the other's. */
export type LinkSide = "listener" | "connector";

/** The proof `side` gives for the handshake `hello` answered with `listenerNonce`. */
export function linkProof(
	key: Buffer,
	side: LinkSide,
	hello: Hello,
	listenerNonce: string,
): string {
	return createHmac("sha256", key)
		.update(
			[side, hello.namespace, hello.from, hello.to, hello.nonce, listenerNonce].join(
				"\u0000",
			),
		)
		.digest("base64url");
}

/** Whether `proof` is what `side` must give for this handshake (constant time). */
export function verifyLinkProof(
	key: Buffer,
	side: LinkSide,
	hello: Hello,
	listenerNonce: string,
	proof: string,
): boolean {
	const expected = Buffer.from(linkProof(key, side, hello, listenerNonce));
	const given = Buffer.from(proof);
	return given.length === expected.length && timingSafeEqual(given, expected);
}
