/**
 * Where a webhook may be sent. Only http(s) URLs without credentials; and unless the installation
 * allows it (MODELFLEET_WEBHOOK_ALLOW_PRIVATE), no target whose host resolves to a loopback,
 * private, link-local, unspecified, multicast or otherwise reserved address — IPv4, IPv6 and
 * IPv4 inside IPv6 (mapped, compatible, NAT64, 6to4) alike. Every address a name resolves to is
 * checked, at registration and again at each delivery: the delivery connects to the address it
 * checked (lib/domain-events/webhook-sender.ts), so a name that re-resolves to 127.0.0.1 after
 * registration (DNS rebinding) is refused then too.
 */
import * as dns from "node:dns";
import * as net from "node:net";

/** The resolver: every address of a host name (tests hand in a fake). */
export type ResolveHost = (host: string) => Promise<Array<{ address: string; family: number }>>;

export const resolveWithDns: ResolveHost = host => dns.promises.lookup(host, { all: true });

const V4_BLOCKED: ReadonlyArray<[string, number]> = [
	["0.0.0.0", 8],
	["10.0.0.0", 8],
	["100.64.0.0", 10],
	["127.0.0.0", 8],
	["169.254.0.0", 16],
	["172.16.0.0", 12],
	["192.0.0.0", 24],
	["192.0.2.0", 24],
	["192.88.99.0", 24],
	["192.168.0.0", 16],
	["198.18.0.0", 15],
	["198.51.100.0", 24],
	["203.0.113.0", 24],
	["224.0.0.0", 4],
	["240.0.0.0", 4],
];

function v4Number(address: string): number {
	return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function isPrivateV4(address: string): boolean {
	const n = v4Number(address);
	return V4_BLOCKED.some(([base, bits]) => {
		const size = 2 ** (32 - bits);
		const start = v4Number(base);
		return n >= start && n < start + size;
	});
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part is folded in). */
function v6Groups(address: string): number[] {
	let text = address.split("%")[0].toLowerCase();
	const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
	if (dotted) {
		const n = v4Number(dotted[1]);
		text =
			text.slice(0, -dotted[1].length) +
			`${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
	}
	const [head, tail] = text.includes("::") ? text.split("::") : [text, null];
	const headGroups = head === "" ? [] : head.split(":");
	const tailGroups = tail === null || tail === "" ? [] : tail.split(":");
	const fill = tail === null ? 0 : 8 - headGroups.length - tailGroups.length;
	return [...headGroups, ...Array<string>(fill).fill("0"), ...tailGroups].map(g =>
		parseInt(g, 16),
	);
}

function v4FromGroups(high: number, low: number): string {
	return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

function isPrivateV6(address: string): boolean {
	const g = v6Groups(address);
	const zeroUpTo = (n: number) => g.slice(0, n).every(x => x === 0);
	// ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated): the IPv4 address decides.
	if (zeroUpTo(5) && (g[5] === 0xffff || g[5] === 0)) {
		if (g[5] === 0 && g[6] === 0 && (g[7] === 0 || g[7] === 1)) return true; // :: and ::1
		return isPrivateV4(v4FromGroups(g[6], g[7]));
	}
	// 64:ff9b::/96 (NAT64) carries an IPv4 address in its last 32 bits.
	if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every(x => x === 0))
		return isPrivateV4(v4FromGroups(g[6], g[7]));
	// 2002::/16 (6to4) carries one in bits 16–48.
	if (g[0] === 0x2002) return isPrivateV4(v4FromGroups(g[1], g[2]));
	if ((g[0] & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
	if ((g[0] & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
	if ((g[0] & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
	if ((g[0] & 0xff00) === 0xff00) return true; // ff00::/8 multicast
	if (g[0] === 0x2001 && g[1] === 0x0db8) return true; // documentation
	if (g[0] === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return true; // 100::/64 discard
	return false;
}

/** Whether an IP address is loopback, private, link-local or otherwise not on the public Internet. */
export function isPrivateAddress(address: string): boolean {
	if (net.isIPv4(address)) return isPrivateV4(address);
	if (net.isIPv6(address)) return isPrivateV6(address);
	return true;
}

/** Why a target is refused, in words a client can act on; null: it may be used. */
export function targetUrlProblem(text: string): string | null {
	let url: URL;
	try {
		url = new URL(text);
	} catch {
		return `'${text.slice(0, 200)}' is not a URL: give an absolute http:// or https:// URL.`;
	}
	if (url.protocol !== "https:" && url.protocol !== "http:")
		return `The webhook URL must be http:// or https://, not ${url.protocol}//.`;
	if (url.username !== "" || url.password !== "")
		return "The webhook URL must not carry credentials: deliveries are authenticated by their signature.";
	if (url.hash !== "") return "The webhook URL must not have a #fragment.";
	return null;
}

/**
 * The addresses to connect to for `host`, all checked; a string says why the host is refused.
 * A literal IP is checked as it is; a name is resolved and every address checked, since a
 * connection could pick any of them.
 */
export async function checkedAddresses(
	host: string,
	allowPrivate: boolean,
	resolve: ResolveHost = resolveWithDns,
): Promise<Array<{ address: string; family: number }> | string> {
	const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
	let addresses: Array<{ address: string; family: number }>;
	if (net.isIP(bare) !== 0) addresses = [{ address: bare, family: net.isIP(bare) }];
	else {
		try {
			addresses = await resolve(bare);
		} catch {
			return `The webhook host '${bare}' does not resolve: give a host name that resolves, or an IP address.`;
		}
		if (addresses.length === 0) return `The webhook host '${bare}' resolves to no address.`;
	}
	if (!allowPrivate) {
		const refused = addresses.find(a => isPrivateAddress(a.address));
		if (refused)
			return `The webhook host '${bare}' resolves to ${refused.address}, a loopback, private or reserved address: webhooks go to public addresses only (an operator may allow private ones with MODELFLEET_WEBHOOK_ALLOW_PRIVATE=true).`;
	}
	return addresses;
}
