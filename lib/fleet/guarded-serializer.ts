/**
 * The transporter's CBOR serializer (cbor-x), guarded: cbor-x writes nested objects by
 * recursion, so a message nested thousands deep overflows the stack. The gateway refuses such
 * JSON at the edge (lib/json-policy.ts); should something deep reach the bus all the same, the
 * overflow becomes a client error instead of a failure with no answer: a request is refused
 * with 400 JSON_TOO_DEEP before it is sent, and a response that cannot be written is sent as
 * that error, so the caller hears it rather than waiting for its timeout.
 */
import { Serializers } from "moleculer";
import { JsonTooDeepError } from "../errors";
import { JSON_DEPTH_SETTING } from "../json-policy";

/** Moleculer's packet type of a response (moleculer/src/packets.js). */
const RESPONSE_PACKET = "RES";

export class GuardedCborSerializer extends Serializers.CBOR {
	/** `maxDepth` is the depth limit named in the refusal (MODELFLEET_MAX_JSON_DEPTH). */
	constructor(private readonly maxDepth: number) {
		super();
	}

	override serialize(obj: Record<string, unknown>, type?: string): Buffer {
		try {
			return super.serialize(obj);
		} catch (err) {
			if (!(err instanceof RangeError)) throw err;
			const refused = new JsonTooDeepError(
				"A message between nodes",
				this.maxDepth,
				JSON_DEPTH_SETTING,
			);
			if (type !== RESPONSE_PACKET) throw refused;
			return super.serialize({
				ver: obj.ver,
				sender: obj.sender,
				id: obj.id,
				meta: {},
				headers: {},
				success: false,
				data: null,
				error: {
					name: refused.name,
					message: refused.message,
					code: refused.code,
					type: refused.type,
					data: refused.data,
					nodeID: obj.sender,
					retryable: false,
				},
			});
		}
	}
}
