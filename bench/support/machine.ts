/** The machine a run happened on, for RESULTS.md. */
import * as fs from "node:fs";
import * as os from "node:os";

export function describeMachine(): string {
	let cpu = os.cpus()[0]?.model ?? "unknown";
	try {
		const line = fs
			.readFileSync("/proc/cpuinfo", "utf8")
			.split("\n")
			.find(l => l.startsWith("model name"));
		if (line) cpu = line.split(":")[1].trim();
	} catch {
		// not Linux: os.cpus() is the best there is
	}
	const memGiB = (os.totalmem() / 2 ** 30).toFixed(1);
	return [
		`date: ${new Date().toISOString()}`,
		`nproc (availableParallelism): ${os.availableParallelism()}`,
		`cpu: ${cpu}`,
		`memory: ${memGiB} GiB`,
		`node: ${process.version} (${process.platform}/${process.arch})`,
	].join("\n");
}
