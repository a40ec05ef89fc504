/**
 * How V8 collects a node's garbage when the process allocates memory outside its heap: the
 * backing stores of Buffers and typed arrays, which every request body, tensor and bus message
 * of the serving path is. Three choices, each a V8 flag set once the node runs:
 *
 * - **Buffers count toward the heap's limit** (`--external-memory-accounted-in-global-limit`).
 *   By default V8 starts a full (mark-compact) collection each time such memory has grown by a
 *   fixed 64 MiB since the last one, whatever the heap's size: in the fleet at batch 64 (16 KiB
 *   a request) that marked a gateway's and a worker's whole heap every second or so.
 * - **Young buffers are collected young, every 32 MiB** (`--scavenger-max-new-space-capacity-mb`).
 *   V8 runs a young collection (a scavenge: cheap, it touches only what survives) when the
 *   buffers held by young objects reach twice its default semi-space, 128 MiB in Node's builds.
 *   Counted toward the heap's limit, those dead buffers fill the limit's headroom first, and V8
 *   answers with a full collection, not a young one. Set after start-up, the flag moves only
 *   that trigger: the young generation's size was fixed when the heap was made.
 * - **The heap may grow to three times what survived** (`--heap-growing-percent=200`) before
 *   the next full collection. V8 picks the factor from how fast the old generation fills: a
 *   worker that promotes almost nothing gets its lowest, 1.1, and then a limit a few MiB above
 *   its heap, which young buffers alone pass within milliseconds. Full collections then follow
 *   one another (during marking no young collection runs, so buffers pile up until it ends),
 *   and a worker at batch 64 spent a quarter of its CPU marking (bench/RESULTS.md §17). Whether
 *   a node fell into that loop depended on the factor its last full collection happened to
 *   pick. The headroom must hold the 32 MiB of young buffers
 *   and the buffers in flight: twice the heap (50–60 MiB live in a loaded node) does, with room.
 */
import * as v8 from "node:v8";

export const EXTERNAL_MEMORY_IN_HEAP_LIMIT_FLAG = "--external-memory-accounted-in-global-limit";
const YOUNG_TRIGGER_FLAG = "--scavenger-max-new-space-capacity-mb";
const HEAP_GROWING_FLAG = "--heap-growing-percent";

export interface GcTuning {
	/** MODELFLEET_GC_EXTERNAL_IN_HEAP_LIMIT: buffers count toward the heap's limit; false: V8's default. */
	externalMemoryInHeapLimit: boolean;
	/**
	 * MODELFLEET_GC_YOUNG_BUFFERS_MIB: the buffers held by young objects that start a young
	 * collection, MiB (V8 takes it in steps of 4 MiB); 0: V8's own (128 MiB).
	 */
	youngBufferMiB: number;
	/**
	 * MODELFLEET_GC_HEAP_GROWTH_PERCENT: how far the heap (with its buffers) may grow past what
	 * survived the last full collection before the next, percent; 0: V8's own factor.
	 */
	heapGrowthPercent: number;
}

export const DEFAULT_GC_TUNING: Readonly<GcTuning> = Object.freeze({
	externalMemoryInHeapLimit: true,
	youngBufferMiB: 32,
	heapGrowthPercent: 200,
});

/**
 * Node's builds keep full 64-bit pointers; with pointer compression V8 sizes its semi-spaces
 * (and so the young-buffer trigger) at half.
 */
function pointerMultiplier(): number {
	const variables = process.config.variables as { v8_enable_pointer_compression?: unknown };
	return variables.v8_enable_pointer_compression === 1 ? 1 : 2;
}

/**
 * The V8 flags of a tuning. The young-buffer trigger is twice V8's default semi-space, which is
 * `--scavenger-max-new-space-capacity-mb` MiB times the pointer multiplier.
 */
export function gcTuningFlags(tuning: GcTuning, multiplier = pointerMultiplier()): string[] {
	const flags = [
		tuning.externalMemoryInHeapLimit
			? EXTERNAL_MEMORY_IN_HEAP_LIMIT_FLAG
			: EXTERNAL_MEMORY_IN_HEAP_LIMIT_FLAG.replace("--", "--no-"),
	];
	if (tuning.youngBufferMiB > 0) {
		const semiSpaceUnits = Math.max(1, Math.round(tuning.youngBufferMiB / (2 * multiplier)));
		flags.push(`${YOUNG_TRIGGER_FLAG}=${semiSpaceUnits}`);
	}
	if (tuning.heapGrowthPercent > 0)
		flags.push(`${HEAP_GROWING_FLAG}=${tuning.heapGrowthPercent}`);
	return flags;
}

/**
 * Applies the node's garbage-collection tuning to this process's V8. The flags are read where
 * V8 decides (each allocation-limit check, each new backing store, each limit computed after a
 * collection), so setting them once the process runs takes effect from then on; they apply to
 * the whole process (worker threads too). A choice left at 0 is not set: V8 keeps its own.
 */
export function applyGcTuning(tuning: GcTuning): void {
	for (const flag of gcTuningFlags(tuning)) v8.setFlagsFromString(flag);
}
