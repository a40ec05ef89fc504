/**
 * The master key of encryption at rest (MODELFLEET_ENCRYPTION_KEY): 32 random bytes that never
 * encrypt data themselves, only wrap each blob's own data key (envelope encryption). Its id, a
 * keyed hash of it, is written next to every wrapped key so that rotation and the start-up
 * check can tell which key sealed what without trying to decrypt anything.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

export const KEY_BYTES = 32;
export const KEY_ID_BYTES = 8;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** A wrapped data key: nonce, encrypted key, GCM tag. */
export const WRAPPED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/** How a key setting is written: 32 bytes in base64 (`openssl rand -base64 32`). */
export const KEY_FORM = "32 bytes in base64, e.g. from `openssl rand -base64 32`";

export class MasterKey {
	/** 16 hex digits naming the key: HMAC-SHA-256(key, "modelfleet key id"), cut to 8 bytes. */
	readonly id: string;
	readonly idBytes: Buffer;

	private constructor(private readonly key: Buffer) {
		this.idBytes = createHmac("sha256", key)
			.update("modelfleet key id")
			.digest()
			.subarray(0, KEY_ID_BYTES);
		this.id = this.idBytes.toString("hex");
	}

	/** The key of a setting's text, or null when it is not 32 bytes of base64. */
	static parse(text: string): MasterKey | null {
		const trimmed = text.trim();
		if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return null;
		const bytes = Buffer.from(trimmed, "base64");
		return bytes.length === KEY_BYTES ? new MasterKey(bytes) : null;
	}

	static fromBytes(bytes: Uint8Array): MasterKey {
		if (bytes.length !== KEY_BYTES) throw new RangeError(`a master key is ${KEY_BYTES} bytes`);
		return new MasterKey(Buffer.from(bytes));
	}

	/** A fresh random key (tests, and `rotate-key` advice). */
	static generate(): MasterKey {
		return new MasterKey(randomBytes(KEY_BYTES));
	}

	/** The key as a setting holds it. */
	toBase64(): string {
		return this.key.toString("base64");
	}

	/** Encrypts a data key with AES-256-GCM under this key, bound to `aad`. */
	wrap(dataKey: Buffer, aad: Buffer): Buffer {
		const nonce = randomBytes(NONCE_BYTES);
		const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
		cipher.setAAD(aad);
		const sealed = Buffer.concat([cipher.update(dataKey), cipher.final()]);
		return Buffer.concat([nonce, sealed, cipher.getAuthTag()]);
	}

	/** The data key `wrap` sealed with the same `aad`; null when this key did not seal it or anything changed. */
	unwrap(wrapped: Buffer, aad: Buffer): Buffer | null {
		if (wrapped.length !== WRAPPED_KEY_BYTES) return null;
		const decipher = createDecipheriv(
			"aes-256-gcm",
			this.key,
			wrapped.subarray(0, NONCE_BYTES),
		);
		decipher.setAAD(aad);
		decipher.setAuthTag(wrapped.subarray(NONCE_BYTES + KEY_BYTES));
		try {
			return Buffer.concat([
				decipher.update(wrapped.subarray(NONCE_BYTES, NONCE_BYTES + KEY_BYTES)),
				decipher.final(),
			]);
		} catch {
			return null;
		}
	}
}
