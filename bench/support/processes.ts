/**
 * What the benchmarks that start nodes as processes share: a free port, waiting for a node to
 * answer, and the CPU time a process has used (from /proc, so Linux only).
 */
import * as fs from "node:fs";
import * as net from "node:net";

/** A TCP port free on the loopback now. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** Polls `probe` every 200 ms until it says true (a throw counts as false). */
export async function waitUntil(
	what: string,
	probe: () => Promise<boolean>,
	timeoutMs = 60_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await probe().catch(() => false)) return;
		await new Promise(resolve => setTimeout(resolve, 200));
	}
	throw new Error(`Timed out waiting for ${what}`);
}

const CLOCK_TICKS_PER_S = 100;

/** CPU seconds (user + system) a process has used so far, from /proc; null where there is none. */
export function cpuSeconds(pid: number | undefined): number | null {
	if (pid === undefined) return null;
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
		// Fields after the command name (which may hold spaces) start at state, field 3.
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
	} catch {
		return null;
	}
}
