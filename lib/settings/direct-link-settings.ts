/**
 * Whether and where a fleet node opens direct links (lib/fleet/direct-links.ts): TCP
 * connections that carry requests and responses between nodes without the NATS server.
 *
 *   MODELFLEET_DIRECT_LINKS           on | off — default on, but off when NATS uses TLS: links
 *                                     are plain TCP (authenticated by the fleet secret, not
 *                                     encrypted), so a fleet that encrypts its bus keeps every
 *                                     packet on it unless told otherwise.
 *   MODELFLEET_DIRECT_LINK_HOST       address to listen on — default 0.0.0.0
 *   MODELFLEET_DIRECT_LINK_PORT       port to listen on — default 0, a free port
 *   MODELFLEET_DIRECT_LINK_ADVERTISE  host other nodes connect to — default the machine's first
 *                                     non-internal IPv4 address (127.0.0.1 when it has none)
 */
import * as os from "node:os";
import type { EnvReader } from "./env-reader";

export const DIRECT_LINK_SETTING = {
	enabled: "MODELFLEET_DIRECT_LINKS",
	host: "MODELFLEET_DIRECT_LINK_HOST",
	port: "MODELFLEET_DIRECT_LINK_PORT",
	advertise: "MODELFLEET_DIRECT_LINK_ADVERTISE",
} as const;

export interface DirectLinkSettings {
	host: string;
	port: number;
	advertiseHost: string;
}

/** The machine's first non-internal IPv4 address, or 127.0.0.1. */
export function defaultAdvertiseHost(
	interfaces: ReturnType<typeof os.networkInterfaces> = os.networkInterfaces(),
): string {
	for (const addresses of Object.values(interfaces)) {
		for (const address of addresses ?? []) {
			if (address.family === "IPv4" && !address.internal) return address.address;
		}
	}
	return "127.0.0.1";
}

/** The settings of a fleet node (null: links off); `natsTls` says whether NATS uses TLS. */
export function readDirectLinkSettings(
	read: EnvReader,
	natsTls: boolean,
): DirectLinkSettings | null {
	const enabled = read.boolean(DIRECT_LINK_SETTING.enabled, !natsTls);
	const host = read.string(DIRECT_LINK_SETTING.host, "0.0.0.0");
	const port = read.number(DIRECT_LINK_SETTING.port, 0, { min: 0, max: 65535, integer: true });
	const advertise = read.optionalString(DIRECT_LINK_SETTING.advertise);
	if (advertise !== null && !/^[A-Za-z0-9.:[\]-]{1,255}$/.test(advertise)) {
		read.fail(DIRECT_LINK_SETTING.advertise, `"${advertise}" is not a host name or address`);
	}
	if (!enabled) return null;
	return { host, port, advertiseHost: advertise ?? defaultAdvertiseHost() };
}
