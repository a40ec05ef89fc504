/**
 * docker/docker-compose.yml, read as compose would (Docker does not run here): NATS wants a
 * password, and every node's environment, NATS_PASSWORD and MODELFLEET_FLEET_SECRET filled in,
 * is a configuration its role accepts with credentials for that NATS and the fleet's one secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { loadNodeConfig } from "../../../lib/config/node-config";
import { isNodeRole, type NodeRole } from "../../../lib/fleet/node-role";

const DOCKER = path.join(__dirname, "..", "..", "..", "docker");

interface ComposeService {
	command?: string[];
	healthcheck?: { test?: string[] };
	environment?: Record<string, string>;
	volumes?: string[];
}

/** Compose's interpolation of ${NAME}, ${NAME:?message} and ${NAME:-default}, for one variable set. */
function interpolate(text: string, variables: Record<string, string>): string {
	return text.replace(
		/\$\{(\w+)(?::([?-])([^}]*))?\}/g,
		(_, name: string, how?: string, fallback?: string) => {
			const value = variables[name] ?? (how === "-" ? fallback : undefined);
			if (value === undefined) throw new Error(`compose would refuse: ${name} is not set`);
			return value;
		},
	);
}

describe("docker-compose.yml", () => {
	const password = "0123456789abcdef0123456789abcdef";
	const fleetSecret = "fedcba9876543210fedcba9876543210";
	const compose = load(
		interpolate(fs.readFileSync(path.join(DOCKER, "docker-compose.yml"), "utf8"), {
			NATS_PASSWORD: password,
			MODELFLEET_FLEET_SECRET: fleetSecret,
		}),
	) as { services: Record<string, ComposeService> };

	it("runs NATS with its configuration file, which wants the password", () => {
		const nats = compose.services.nats;
		expect(nats.command).toEqual(["-c", "/etc/nats/nats.conf"]);
		expect(nats.volumes).toContain("./nats.conf:/etc/nats/nats.conf:ro");
		expect(nats.environment).toEqual({ NATS_PASSWORD: password });
		const conf = fs.readFileSync(path.join(DOCKER, "nats.conf"), "utf8");
		expect(conf).toMatch(/authorization \{\s+user: fleet\s+password: \$NATS_PASSWORD\s+\}/);
		expect(conf).toMatch(/^http_port: 8222$/m);
	});

	it("gives every node a valid configuration with the NATS user and password", () => {
		const nodes = Object.entries(compose.services).filter(
			([, service]) => service.command !== undefined && isNodeRole(service.command[0]),
		);
		expect(nodes.length).toBeGreaterThanOrEqual(4);
		for (const [, service] of nodes) {
			const config = loadNodeConfig(
				service.command?.[0] as "worker",
				service.environment ?? {},
			);
			expect(config.nats).toMatchObject({
				servers: ["nats:4222"],
				auth: { kind: "password", user: "fleet", pass: password },
			});
			expect(config.fleetSecret).toBe(fleetSecret);
		}
	});

	it("probes every node's readiness: the gateway's HTTP port, the others' health port", () => {
		const nodes = Object.entries(compose.services).filter(
			([, service]) => service.command !== undefined && isNodeRole(service.command[0]),
		);
		for (const [name, service] of nodes) {
			const role = service.command?.[0] as NodeRole;
			const config = loadNodeConfig(role, service.environment ?? {});
			const probe = (service.healthcheck?.test ?? []).join(" ");
			const port = role === "gateway" ? config.port : config.healthPort;
			expect({ name, port }).toEqual({ name, port: expect.any(Number) });
			expect({ name, probe }).toEqual({
				name,
				probe: expect.stringContaining(`http://127.0.0.1:${port}/health/ready`),
			});
		}
	});

	it("keeps the control node's artifacts in JetStream on the fleet's NATS", () => {
		const control = compose.services.control;
		const config = loadNodeConfig("control", control.environment ?? {});
		expect(config.artifacts).toMatchObject({
			kind: "nats",
			bucket: "modelfleet-artifacts",
			replicas: 1,
			nats: { servers: ["nats:4222"] },
		});
		const conf = fs.readFileSync(path.join(DOCKER, "nats.conf"), "utf8");
		expect(conf).toMatch(/^jetstream \{\s+store_dir: "\/data"\s+\}/m);
		expect(compose.services.nats.volumes).toContain("nats-data:/data");
	});
});
