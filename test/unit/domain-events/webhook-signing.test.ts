import { Webhook } from "standardwebhooks";
import {
	newWebhookSecret,
	retryDelayMs,
	signedHeaders,
} from "../../../lib/domain-events/webhook-sender";

describe("Standard Webhooks signing", () => {
	it("signs what standardwebhooks verifies, and nothing else", () => {
		const secret = newWebhookSecret();
		expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
		const body = JSON.stringify({ id: "e1", type: "io.modelfleet.model.created" });
		const headers = signedHeaders(secret, "e1", body, new Date());
		expect(headers["webhook-id"]).toBe("e1");
		expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
		expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
		expect(() => new Webhook(secret).verify(body.replace("e1", "e2"), headers)).toThrow();
		expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
	});
});

describe("retryDelayMs", () => {
	const policy = { baseMs: 1000, maxMs: 60_000, retryForMs: 86_400_000 };

	it("doubles each time, with jitter in [75 %, 100 %] of the step, up to the cap", () => {
		expect(retryDelayMs(1, policy, () => 1)).toBe(1000);
		expect(retryDelayMs(1, policy, () => 0)).toBe(750);
		expect(retryDelayMs(2, policy, () => 1)).toBe(2000);
		expect(retryDelayMs(4, policy, () => 0.5)).toBe(7000);
		expect(retryDelayMs(30, policy, () => 1)).toBe(60_000);
		expect(retryDelayMs(1000, policy, () => 1)).toBe(60_000);
	});

	it("grows from one attempt to the next whatever the jitter, until the cap", () => {
		for (let attempt = 1; attempt < 6; attempt++)
			expect(retryDelayMs(attempt + 1, policy, () => 0)).toBeGreaterThan(
				retryDelayMs(attempt, policy, () => 1),
			);
	});
});
