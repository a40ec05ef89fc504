import type { GpuInfo } from "./gpu-info";
import { parseByteSize } from "../settings/env-reader";

/** What an operator declares about a GPU in MODELFLEET_GPUS. */
export interface DeclaredGpu {
	name: string;
	/** Bytes as a number, or a size such as "80GiB". */
	memory: number | string;
	uuid?: string;
	computeCapability?: string;
	driverVersion?: string;
}

export type DeclaredGpusResult =
	{ kind: "detect" } | { kind: "declared"; gpus: GpuInfo[] } | { kind: "error"; problem: string };

export const DECLARED_GPUS_FORM =
	'"none", or a JSON array such as [{"name":"NVIDIA L4","memory":"24GiB","computeCapability":"8.9"}]';

/**
 * Reads MODELFLEET_GPUS. Unset → detect with nvidia-smi; "none" → no GPUs, no detection;
 * a JSON array → exactly those GPUs (for hosts without nvidia-smi, containers, tests).
 */
export function parseDeclaredGpus(text: string | undefined): DeclaredGpusResult {
	if (text === undefined || text.trim() === "") return { kind: "detect" };
	if (text.trim().toLowerCase() === "none") return { kind: "declared", gpus: [] };
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		return { kind: "error", problem: `not valid JSON; expected ${DECLARED_GPUS_FORM}` };
	}
	if (!Array.isArray(parsed)) {
		return { kind: "error", problem: `expected ${DECLARED_GPUS_FORM}` };
	}
	const gpus: GpuInfo[] = [];
	for (const [index, item] of parsed.entries()) {
		const entry = item as Partial<Record<keyof DeclaredGpu, unknown>> | null;
		if (entry === null || typeof entry !== "object") {
			return { kind: "error", problem: `entry ${index} is not an object` };
		}
		if (typeof entry.name !== "string" || entry.name.trim() === "") {
			return { kind: "error", problem: `entry ${index} needs a "name" string` };
		}
		const memory =
			typeof entry.memory === "number" &&
			Number.isSafeInteger(entry.memory) &&
			entry.memory > 0
				? entry.memory
				: typeof entry.memory === "string"
					? parseByteSize(entry.memory)
					: null;
		if (memory === null || memory <= 0) {
			return {
				kind: "error",
				problem: `entry ${index} needs "memory" as bytes or a size such as "24GiB"`,
			};
		}
		const optional = (key: "uuid" | "computeCapability" | "driverVersion"): string | null => {
			const value = entry[key];
			return typeof value === "string" && value.trim() !== "" ? value : null;
		};
		gpus.push({
			index,
			name: entry.name.trim(),
			uuid: optional("uuid"),
			memoryTotalBytes: memory,
			memoryUsedBytes: 0,
			memoryFreeBytes: memory,
			utilizationPercent: null,
			computeCapability: optional("computeCapability"),
			driverVersion: optional("driverVersion"),
		});
	}
	return { kind: "declared", gpus };
}
