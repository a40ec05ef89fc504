import * as fs from "node:fs";
import * as os from "node:os";
import { execFile } from "node:child_process";
import type { GpuInfo, GpuSource } from "./gpu-info";
import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv } from "./nvidia-smi";
import { detectRuntimes, type RuntimeProbe, type RuntimeSupport } from "./runtime-support";

/** What a node can offer, advertised once in its broker metadata. */
export interface NodeCapacity {
	cpus: number;
	memoryBytes: number;
	gpus: GpuInfo[];
	gpuSource: GpuSource;
	runtimes: RuntimeSupport[];
}

/** What the operator declared; null fields are detected. */
export interface DeclaredCapacity {
	cpus: number | null;
	memoryBytes: number | null;
	/** null → ask nvidia-smi; an array (possibly empty) → exactly these. */
	gpus: GpuInfo[] | null;
}

/** Everything capacity detection touches outside itself, so tests can hand in fakes. */
export interface CapacityProbes {
	cpuCount(): number;
	totalMemoryBytes(): number;
	/** nvidia-smi's CSV, or null when the tool is not installed. Throws when it fails. */
	runNvidiaSmi(): Promise<string | null>;
	runtimes: RuntimeProbe;
}

export interface CapacityResult {
	capacity: NodeCapacity;
	warnings: string[];
}

export async function detectCapacity(
	declared: DeclaredCapacity,
	probes: CapacityProbes = SYSTEM_PROBES,
): Promise<CapacityResult> {
	const warnings: string[] = [];
	let gpus: GpuInfo[] = [];
	let gpuSource: GpuSource = "none";
	if (declared.gpus !== null) {
		gpus = declared.gpus;
		gpuSource = declared.gpus.length > 0 ? "declared" : "none";
	} else {
		const read = await readNvidiaSmi(probes);
		gpus = read.gpus;
		warnings.push(...read.warnings);
		gpuSource = gpus.length > 0 ? "nvidia-smi" : "none";
	}
	return {
		capacity: {
			cpus: declared.cpus ?? probes.cpuCount(),
			memoryBytes: declared.memoryBytes ?? probes.totalMemoryBytes(),
			gpus,
			gpuSource,
			runtimes: detectRuntimes(probes.runtimes, gpus.length > 0),
		},
		warnings,
	};
}

/** Runs nvidia-smi and parses it; a missing tool means no GPUs, a failing one a warning. */
export async function readNvidiaSmi(
	probes: Pick<CapacityProbes, "runNvidiaSmi"> = SYSTEM_PROBES,
): Promise<{ gpus: GpuInfo[]; warnings: string[] }> {
	let output: string | null;
	try {
		output = await probes.runNvidiaSmi();
	} catch (err) {
		const message = err instanceof Error ? err.message : String(err);
		return {
			gpus: [],
			warnings: [
				`nvidia-smi failed (${message.split("\n")[0]}): this node advertises no GPUs.`,
			],
		};
	}
	return output === null ? { gpus: [], warnings: [] } : parseNvidiaSmiCsv(output);
}

/** The node's memory: the smaller of the host's and the container's (cgroup) limit. */
function totalMemoryBytes(): number {
	const host = os.totalmem();
	const limit = process.constrainedMemory();
	return limit > 0 && limit < host ? limit : host;
}

function runNvidiaSmi(): Promise<string | null> {
	return new Promise((resolve, reject) => {
		execFile("nvidia-smi", NVIDIA_SMI_ARGS, { timeout: 10_000 }, (err, stdout, stderr) => {
			if (err && (err as NodeJS.ErrnoException).code === "ENOENT") resolve(null);
			else if (err) reject(new Error(stderr.trim() || err.message));
			else resolve(stdout);
		});
	});
}

const SYSTEM_RUNTIME_PROBE: RuntimeProbe = {
	packageJsonPath(name) {
		try {
			return require.resolve(`${name}/package.json`);
		} catch {
			return null;
		}
	},
	readVersion(file) {
		try {
			const { version } = JSON.parse(fs.readFileSync(file, "utf8")) as { version?: unknown };
			return typeof version === "string" ? version : null;
		} catch {
			return null;
		}
	},
	fileExists: file => fs.existsSync(file),
};

export const SYSTEM_PROBES: CapacityProbes = {
	cpuCount: () => os.availableParallelism(),
	totalMemoryBytes,
	runNvidiaSmi,
	runtimes: SYSTEM_RUNTIME_PROBE,
};
