/** One GPU as a node advertises it. Figures nvidia-smi could not give ("[N/A]") are null. */
export interface GpuInfo {
	index: number;
	name: string;
	uuid: string | null;
	memoryTotalBytes: number | null;
	memoryUsedBytes: number | null;
	memoryFreeBytes: number | null;
	utilizationPercent: number | null;
	/** CUDA compute capability, e.g. "9.0" on Hopper. */
	computeCapability: string | null;
	driverVersion: string | null;
}

/** Where a node's GPU list came from. */
export type GpuSource = "nvidia-smi" | "declared" | "none";

export const MIB = 1024 * 1024;
