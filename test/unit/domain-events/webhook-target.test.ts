import * as http from "node:http";
import type { AddressInfo } from "node:net";
import {
	checkedAddresses,
	isPrivateAddress,
	targetUrlProblem,
	type ResolveHost,
} from "../../../lib/domain-events/webhook-target";
import { sendWebhook } from "../../../lib/domain-events/webhook-sender";

const resolvesTo =
	(...addresses: string[]): ResolveHost =>
	async () =>
		addresses.map(address => ({ address, family: address.includes(":") ? 6 : 4 }));

describe("isPrivateAddress", () => {
	it.each([
		"127.0.0.1",
		"127.255.0.9",
		"10.1.2.3",
		"172.16.0.1",
		"172.31.255.255",
		"192.168.1.1",
		"169.254.169.254",
		"100.64.0.1",
		"0.0.0.0",
		"224.0.0.1",
		"255.255.255.255",
		"::",
		"::1",
		"fe80::1",
		"fc00::1",
		"fd12:3456::1",
		"ff02::1",
		"::ffff:127.0.0.1",
		"::ffff:7f00:1",
		"::ffff:10.0.0.1",
		"::ffff:169.254.169.254",
		"::127.0.0.1",
		"64:ff9b::a9fe:a9fe",
		"2002:7f00:1::",
		"fe80::1%eth0",
		"not-an-address",
	])("refuses %s", address => {
		expect(isPrivateAddress(address)).toBe(true);
	});

	it.each([
		"93.184.215.14",
		"8.8.8.8",
		"172.32.0.1",
		"2606:4700::1111",
		"::ffff:8.8.8.8",
		"64:ff9b::808:808",
	])("allows %s", address => {
		expect(isPrivateAddress(address)).toBe(false);
	});
});

describe("targetUrlProblem", () => {
	it("takes http(s) URLs without credentials only", () => {
		expect(targetUrlProblem("https://hooks.example.com/x?y=1")).toBeNull();
		expect(targetUrlProblem("http://93.184.215.14:8080/x")).toBeNull();
		expect(targetUrlProblem("ftp://example.com/")).toMatch(/http/);
		expect(targetUrlProblem("https://u:p@example.com/")).toMatch(/credentials/);
		expect(targetUrlProblem("not a url")).toMatch(/not a URL/);
		expect(targetUrlProblem("https://example.com/#frag")).toMatch(/fragment/);
	});
});

describe("checkedAddresses", () => {
	it("checks every address a name resolves to, not only the literal host", async () => {
		expect(
			await checkedAddresses("hooks.example.com", false, resolvesTo("93.184.215.14")),
		).toEqual([{ address: "93.184.215.14", family: 4 }]);
		expect(
			await checkedAddresses(
				"sneaky.example.com",
				false,
				resolvesTo("93.184.215.14", "127.0.0.1"),
			),
		).toMatch(/127\.0\.0\.1.*MODELFLEET_WEBHOOK_ALLOW_PRIVATE/);
		expect(
			await checkedAddresses("mapped.example.com", false, resolvesTo("::ffff:10.0.0.1")),
		).toMatch(/::ffff:10\.0\.0\.1/);
		expect(await checkedAddresses("[::1]", false, resolvesTo())).toMatch(/::1/);
		expect(await checkedAddresses("127.0.0.1", true, resolvesTo())).toEqual([
			{ address: "127.0.0.1", family: 4 },
		]);
		const failing: ResolveHost = () => Promise.reject(new Error("ENOTFOUND"));
		expect(await checkedAddresses("nowhere.invalid", false, failing)).toMatch(
			/does not resolve/,
		);
	});
});

describe("sendWebhook", () => {
	let server: http.Server;
	let port: number;
	const hits: string[] = [];

	beforeAll(async () => {
		server = http.createServer((req, res) => {
			hits.push(req.headers.host ?? "");
			res.writeHead(204).end();
		});
		await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
		port = (server.address() as AddressInfo).port;
	});
	afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

	it("refuses at delivery a name that now resolves to a private address (DNS rebinding)", async () => {
		const outcome = await sendWebhook(`http://rebound.example.com:${port}/`, {}, "{}", {
			timeoutMs: 2000,
			allowPrivate: false,
			resolve: resolvesTo("127.0.0.1"),
		});
		expect(outcome).toMatchObject({ ok: false, status: null });
		expect(outcome.error).toMatch(/127\.0\.0\.1/);
		expect(hits).toEqual([]);
	});

	it("connects to the address it checked, with the name as Host", async () => {
		const outcome = await sendWebhook(`http://hooks.example.com:${port}/x`, {}, "{}", {
			timeoutMs: 2000,
			allowPrivate: true,
			resolve: resolvesTo("127.0.0.1"),
		});
		expect(outcome).toMatchObject({ ok: true, status: 204, error: null });
		expect(hits).toEqual([`hooks.example.com:${port}`]);
	});

	it("says why when nobody answers", async () => {
		const outcome = await sendWebhook("http://127.0.0.1:1/", {}, "{}", {
			timeoutMs: 2000,
			allowPrivate: true,
		});
		expect(outcome).toMatchObject({ ok: false, status: null });
		expect(outcome.error).toMatch(/ECONNREFUSED/);
	});
});
