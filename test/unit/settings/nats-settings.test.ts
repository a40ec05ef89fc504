import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
	redactNatsUrl,
	resolveNatsSettings,
	type NatsSettingsInput,
} from "../../../lib/settings/nats-settings";
import type { ConfigurationProblem } from "../../../lib/errors";

const NONE: NatsSettingsInput = {
	transporter: null,
	credsFile: null,
	nkeySeedFile: null,
	tlsCaFile: null,
	tlsCertFile: null,
	tlsKeyFile: null,
};

function resolve(input: Partial<NatsSettingsInput>) {
	const problems: ConfigurationProblem[] = [];
	const settings = resolveNatsSettings({ ...NONE, ...input }, (setting, problem) =>
		problems.push({ setting, problem }),
	);
	return { settings, problems };
}

describe("resolveNatsSettings", () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-nats-settings-"));
	afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

	it("is null without TRANSPORTER: one process, no bus", () => {
		expect(resolve({})).toEqual({ settings: null, problems: [] });
	});

	it("takes a user and password from the URL and shows them hidden", () => {
		const { settings } = resolve({ transporter: "nats://fleet:p%40ss@nats.internal:4222" });
		expect(settings).toEqual({
			servers: ["nats.internal:4222"],
			displayUrl: "nats://fleet:***@nats.internal:4222",
			auth: { kind: "password", user: "fleet", pass: "p@ss" },
			tls: null,
		});
	});

	it("takes a token from the URL, and the default port", () => {
		const { settings } = resolve({ transporter: "nats://s3cr3t-token@nats" });
		expect(settings).toMatchObject({
			servers: ["nats:4222"],
			displayUrl: "nats://***@nats",
			auth: { kind: "token", token: "s3cr3t-token" },
		});
	});

	it("requires TLS for tls:// URLs and for any MODELFLEET_NATS_TLS_* setting", () => {
		expect(resolve({ transporter: "tls://a:4222,tls://b:4222" }).settings).toMatchObject({
			servers: ["a:4222", "b:4222"],
			tls: { caFile: null, certFile: null, keyFile: null },
		});
		const ca = path.join(dir, "missing-ca.pem");
		const { problems } = resolve({ transporter: "nats://a:4222", tlsCaFile: ca });
		expect(problems).toEqual([
			{ setting: "MODELFLEET_NATS_TLS_CA", problem: `${ca} does not exist` },
		]);
	});

	it("reports every wrong setting at once, without repeating a password or token", () => {
		const { settings, problems } = resolve({
			transporter: "http://fleet:hunter2@nats:4222,nats://other:hunter3@nats:4222",
			credsFile: path.join(dir, "nope.creds"),
			tlsCertFile: path.join(dir, "client.pem"),
		});
		expect(settings).toBeNull();
		expect(problems.map(p => p.setting)).toEqual([
			"TRANSPORTER",
			"MODELFLEET_NATS_CREDS",
			"MODELFLEET_NATS_CREDS",
			"MODELFLEET_NATS_TLS_KEY",
		]);
		expect(JSON.stringify(problems)).not.toMatch(/hunter/);
	});

	it("refuses URLs whose credentials differ", () => {
		const { problems } = resolve({ transporter: "nats://a:x@h1:4222,nats://a:y@h2:4222" });
		expect(problems).toEqual([
			{ setting: "TRANSPORTER", problem: expect.stringContaining("different credentials") },
		]);
	});

	it("refuses NATS settings without TRANSPORTER", () => {
		expect(resolve({ nkeySeedFile: "/x.nk" }).problems).toEqual([
			{
				setting: "MODELFLEET_NATS_NKEY_SEED",
				problem: expect.stringContaining("TRANSPORTER is not"),
			},
		]);
	});

	it("takes an nkey seed file and checks what it holds", () => {
		const seed = path.join(dir, "user.nk");
		fs.writeFileSync(seed, `SU${"A".repeat(56)}\n`);
		expect(resolve({ transporter: "nats://h", nkeySeedFile: seed }).settings?.auth).toEqual({
			kind: "nkey",
			seedFile: seed,
		});
		const notSeed = path.join(dir, "not-a-seed");
		fs.writeFileSync(notSeed, "hello\n");
		expect(resolve({ transporter: "nats://h", nkeySeedFile: notSeed }).problems).toEqual([
			{
				setting: "MODELFLEET_NATS_NKEY_SEED",
				problem: expect.stringContaining("user nkey seed"),
			},
		]);
	});

	it("takes a creds file, but not together with credentials in the URL", () => {
		const creds = path.join(dir, "user.creds");
		fs.writeFileSync(
			creds,
			"-----BEGIN NATS USER JWT-----\nx\n------END NATS USER JWT------\n" +
				"-----BEGIN USER NKEY SEED-----\ny\n------END USER NKEY SEED------\n",
		);
		expect(resolve({ transporter: "tls://h", credsFile: creds }).settings?.auth).toEqual({
			kind: "creds",
			file: creds,
		});
		expect(resolve({ transporter: "nats://t@h", credsFile: creds }).problems).toEqual([
			{
				setting: "MODELFLEET_NATS_CREDS",
				problem: expect.stringContaining(
					"TRANSPORTER (token in the URL) and MODELFLEET_NATS_CREDS",
				),
			},
		]);
	});
});

describe("redactNatsUrl", () => {
	it("hides passwords and tokens", () => {
		expect(redactNatsUrl("nats://u:p@h:1,tls://tok@h2")).toBe("nats://u:***@h:1,tls://***@h2");
	});
});
