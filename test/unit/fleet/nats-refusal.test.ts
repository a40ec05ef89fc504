import { natsRefusal } from "../../../lib/fleet/nats-refusal";

const error = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("natsRefusal", () => {
	it.each([
		["AUTHORIZATION_VIOLATION", "'Authorization Violation'", "credentials"],
		["AUTHENTICATION_EXPIRED", "expired", "credentials"],
		["BAD_CREDS", "bad creds", "credentials"],
		["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate", "tls"],
		["SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain", "tls"],
		["ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match", "tls"],
		["CERT_HAS_EXPIRED", "certificate has expired", "tls"],
		["SERVER_OPT_NA", "tls", "tls"],
	])("takes %s as final: %s", (code, message, reason) => {
		expect(natsRefusal(error(code, message))?.data).toMatchObject({ reason });
	});

	it.each(["CONNECTION_REFUSED", "TIMEOUT", "ECONNRESET", "ENOTFOUND"])(
		"leaves %s to Moleculer's retries",
		code => {
			expect(natsRefusal(error(code, "down"))).toBeNull();
		},
	);

	it("leaves errors without a code to the retries", () => {
		expect(natsRefusal(new Error("?"))).toBeNull();
		expect(natsRefusal(undefined)).toBeNull();
	});
});
