import type { GpuInfo } from "./gpu-info";
import { MIB } from "./gpu-info";

/** The fields asked of nvidia-smi, in this order. */
export const NVIDIA_SMI_FIELDS = [
	"index",
	"name",
	"uuid",
	"memory.total",
	"memory.used",
	"memory.free",
	"utilization.gpu",
	"compute_cap",
	"driver_version",
] as const;

export const NVIDIA_SMI_ARGS = [
	`--query-gpu=${NVIDIA_SMI_FIELDS.join(",")}`,
	"--format=csv,noheader,nounits",
];

export interface NvidiaSmiParseResult {
	gpus: GpuInfo[];
	/** One line per problem, ready to log; the node still starts. */
	warnings: string[];
}

/** nvidia-smi writes "[N/A]", "[Not Supported]", "[Unknown Error]" … where it has no figure. */
function isMissing(field: string): boolean {
	return field === "" || /^\[.*\]$/.test(field) || field.toLowerCase() === "n/a";
}

function optionalText(field: string): string | null {
	return isMissing(field) ? null : field;
}

/** A number where one is expected; "[N/A]" gives null, anything else non-numeric gives NaN. */
function optionalNumber(field: string): number | null {
	if (isMissing(field)) return null;
	return /^-?\d+(\.\d+)?$/.test(field) ? Number(field) : Number.NaN;
}

/**
 * Parses the CSV that `nvidia-smi --query-gpu=<NVIDIA_SMI_FIELDS> --format=csv,noheader,nounits`
 * prints, one GPU a line. A line that cannot be read is left out with a warning that quotes it;
 * fields nvidia-smi marks as unavailable become null.
 */
export function parseNvidiaSmiCsv(output: string): NvidiaSmiParseResult {
	const gpus: GpuInfo[] = [];
	const warnings: string[] = [];
	const lines = output
		.split(/\r?\n/)
		.map(line => line.trim())
		.filter(line => line !== "");
	const fieldCount = NVIDIA_SMI_FIELDS.length;

	for (const line of lines) {
		const cells = line.split(",").map(cell => cell.trim());
		if (cells.length < fieldCount) {
			warnings.push(
				`nvidia-smi line ignored: expected ${fieldCount} comma-separated fields (${NVIDIA_SMI_FIELDS.join(", ")}), got ${cells.length}: "${line}"`,
			);
			continue;
		}
		// A GPU name may itself hold a comma: the fields before and after it are fixed.
		const tail = cells.slice(cells.length - (fieldCount - 2));
		const [uuid, total, used, free, utilization, computeCap, driver] = tail;
		const name = cells.slice(1, cells.length - (fieldCount - 2)).join(", ");
		const index = Number(cells[0]);
		const numbers = {
			"memory.total": optionalNumber(total),
			"memory.used": optionalNumber(used),
			"memory.free": optionalNumber(free),
			"utilization.gpu": optionalNumber(utilization),
		};
		const badNumber = Object.entries(numbers).find(([, value]) => Number.isNaN(value));
		if (!/^\d+$/.test(cells[0]) || isMissing(name) || badNumber) {
			const why = badNumber
				? `${badNumber[0]} is not a number`
				: !/^\d+$/.test(cells[0])
					? "index is not a whole number"
					: "name is missing";
			warnings.push(`nvidia-smi line ignored (${why}): "${line}"`);
			continue;
		}
		const bytes = (mib: number | null): number | null => (mib === null ? null : mib * MIB);
		gpus.push({
			index,
			name,
			uuid: optionalText(uuid),
			memoryTotalBytes: bytes(numbers["memory.total"]),
			memoryUsedBytes: bytes(numbers["memory.used"]),
			memoryFreeBytes: bytes(numbers["memory.free"]),
			utilizationPercent: numbers["utilization.gpu"],
			computeCapability: optionalText(computeCap),
			driverVersion: optionalText(driver),
		});
	}
	if (lines.length > 0 && gpus.length === 0) {
		warnings.push("nvidia-smi printed nothing usable: this node advertises no GPUs.");
	}
	return { gpus, warnings };
}
