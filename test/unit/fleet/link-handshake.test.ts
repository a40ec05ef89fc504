import {
	linkKey,
	linkProof,
	newNonce,
	parseHello,
	parseProof,
	parseWelcome,
	verifyLinkProof,
	type Hello,
} from "../../../lib/fleet/link-handshake";

const key = linkKey("a-fleet-secret-of-enough-length-0123456789");
const hello: Hello = { v: 1, namespace: "ns", from: "gateway", to: "worker", nonce: newNonce() };
const listenerNonce = newNonce();

describe("link handshake", () => {
	it("verifies each side's proof", () => {
		for (const side of ["listener", "connector"] as const) {
			const proof = linkProof(key, side, hello, listenerNonce);
			expect(verifyLinkProof(key, side, hello, listenerNonce, proof)).toBe(true);
		}
	});

	it("refuses a proof made with another secret", () => {
		const other = linkKey("another-fleet-secret-of-enough-length-012345");
		const proof = linkProof(other, "connector", hello, listenerNonce);
		expect(verifyLinkProof(key, "connector", hello, listenerNonce, proof)).toBe(false);
	});

	it("refuses the listener's proof offered as the connector's (a reflected proof)", () => {
		const proof = linkProof(key, "listener", hello, listenerNonce);
		expect(verifyLinkProof(key, "connector", hello, listenerNonce, proof)).toBe(false);
	});

	it("binds the proof to both nodes, the namespace and both nonces (no replay)", () => {
		const proof = linkProof(key, "connector", hello, listenerNonce);
		const changed: Hello[] = [
			{ ...hello, from: "intruder" },
			{ ...hello, to: "other-worker" },
			{ ...hello, namespace: "other" },
			{ ...hello, nonce: newNonce() },
		];
		for (const h of changed)
			expect(verifyLinkProof(key, "connector", h, listenerNonce, proof)).toBe(false);
		expect(verifyLinkProof(key, "connector", hello, newNonce(), proof)).toBe(false);
		expect(verifyLinkProof(key, "connector", hello, listenerNonce, "short")).toBe(false);
	});

	it("derives the link key from the secret, never uses the secret itself", () => {
		expect(key.toString("utf8")).not.toContain("a-fleet-secret");
		expect(key).toHaveLength(32);
	});

	it("parses only well-formed messages", () => {
		const ok = Buffer.from(JSON.stringify(hello));
		expect(parseHello(ok)).toEqual(hello);
		for (const bad of [
			"not json",
			"null",
			"[]",
			JSON.stringify({ ...hello, v: 2 }),
			JSON.stringify({ ...hello, from: "" }),
			JSON.stringify({ ...hello, to: 7 }),
			JSON.stringify({ ...hello, nonce: "x".repeat(300) }),
		])
			expect(parseHello(Buffer.from(bad))).toBeNull();
		expect(parseWelcome(Buffer.from(JSON.stringify({ nonce: "n", proof: "p" })))).toEqual({
			nonce: "n",
			proof: "p",
		});
		expect(parseWelcome(Buffer.from(JSON.stringify({ nonce: "n" })))).toBeNull();
		expect(parseProof(Buffer.from(JSON.stringify({ proof: "p" })))).toEqual({ proof: "p" });
		expect(parseProof(Buffer.from('{"proof":null}'))).toBeNull();
	});
});
