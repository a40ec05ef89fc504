/**
 * The real servers integration and cluster tests use (NATS, Redis, PostgreSQL), where to find
 * them, and what happens when one is not answering: a visible notice and a skip on a
 * developer's machine, a failed run under MODELFLEET_REQUIRE_SERVICES=1 (CI).
 */
import * as net from "node:net";

export type ExternalService = "nats" | "redis" | "postgres";

export const EXTERNAL_SERVICES: readonly ExternalService[] = ["nats", "redis", "postgres"];

const LABEL: Record<ExternalService, string> = {
	nats: "NATS",
	redis: "Redis",
	postgres: "PostgreSQL",
};

/** The URL of each server: NATS_URL, REDIS_URL, DATABASE_URL, or the local default. */
export function serviceUrl(service: ExternalService, env = process.env): string {
	switch (service) {
		case "nats":
			return env.NATS_URL ?? "nats://127.0.0.1:4222";
		case "redis":
			return env.REDIS_URL ?? "redis://127.0.0.1:6379";
		case "postgres":
			return env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
	}
}

const DEFAULT_PORT: Record<ExternalService, number> = { nats: 4222, redis: 6379, postgres: 5432 };

/** Whether something accepts TCP connections at the service's host and port. */
export function isReachable(
	service: ExternalService,
	env = process.env,
	timeoutMs = 1500,
): Promise<boolean> {
	const url = new URL(serviceUrl(service, env));
	const port = url.port ? Number(url.port) : DEFAULT_PORT[service];
	return new Promise(resolve => {
		const socket = net.connect({ host: url.hostname, port });
		const done = (ok: boolean): void => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(timeoutMs, () => done(false));
		socket.once("connect", () => done(true));
		socket.once("error", () => done(false));
	});
}

/** Set by the global setup: the services that answered, comma-separated. */
export const AVAILABLE_SERVICES_ENV = "MODELFLEET_TEST_AVAILABLE_SERVICES";

export function servicesRequired(env = process.env): boolean {
	return env.MODELFLEET_REQUIRE_SERVICES === "1" || env.MODELFLEET_REQUIRE_SERVICES === "true";
}

export function unreachableMessage(missing: readonly ExternalService[], env = process.env): string {
	return missing.map(s => `${LABEL[s]} at ${serviceUrl(s, env)}`).join(", ") + " not answering";
}

/**
 * Jest's global setup: probes every server once. Under MODELFLEET_REQUIRE_SERVICES=1 an
 * unreachable one fails the whole run before any test starts.
 */
export async function probeExternalServices(env = process.env): Promise<ExternalService[]> {
	const results = await Promise.all(EXTERNAL_SERVICES.map(s => isReachable(s, env)));
	const available = EXTERNAL_SERVICES.filter((_, i) => results[i]);
	const missing = EXTERNAL_SERVICES.filter((_, i) => !results[i]);
	if (missing.length > 0) {
		const message = unreachableMessage(missing, env);
		if (servicesRequired(env)) {
			throw new Error(
				`MODELFLEET_REQUIRE_SERVICES=1 and ${message}: start them (see .ci/run) or unset the variable.`,
			);
		}
		console.warn(
			`\n[modelfleet tests] NOTICE: ${message}; tests that need them will be SKIPPED.\n`,
		);
	}
	env[AVAILABLE_SERVICES_ENV] = available.join(",");
	return available;
}

function availableServices(env = process.env): Set<string> {
	return new Set((env[AVAILABLE_SERVICES_ENV] ?? "").split(",").filter(Boolean));
}

/**
 * `describe` for tests that need real servers. When one is missing the block is skipped with
 * a printed notice — or, under MODELFLEET_REQUIRE_SERVICES=1, it fails.
 */
export function describeWithServices(
	needs: readonly ExternalService[],
	name: string,
	body: () => void,
): void {
	const available = availableServices();
	const missing = needs.filter(s => !available.has(s));
	if (missing.length === 0) {
		describe(name, body);
		return;
	}
	describeUnlessMissing(name, unreachableMessage(missing), body);
}

/**
 * The one place a test block is skipped: `missing` says what the machine lacks. Skipped with a
 * printed notice — or, under MODELFLEET_REQUIRE_SERVICES=1 (CI), a failing test instead, so no
 * block can be skipped where it matters.
 */
export function describeUnlessMissing(name: string, missing: string, body: () => void): void {
	if (servicesRequired()) {
		describe(name, () => {
			it("has what it needs", () => {
				throw new Error(`MODELFLEET_REQUIRE_SERVICES=1 and ${missing}`);
			});
		});
		return;
	}
	console.warn(`[modelfleet tests] NOTICE: skipping "${name}": ${missing}.`);
	describe.skip(name, body);
}
