/**
 * How V8 decides to run a full (mark-compact) collection when the process allocates memory
 * outside its heap: the backing stores of Buffers and typed arrays, which every request body,
 * tensor and bus message of the serving path is.
 *
 * By default V8 starts a full collection each time such external memory has grown by a fixed
 * 64 MiB since the last one, whatever the heap's size. A node serving tensors of a few tens of
 * KiB allocates that much every second or so, so it marked its whole heap (≈ 80 MiB of loaded
 * services) again and again: in the fleet at batch 64 (16 KiB a request), full collections took
 * about a third of the gateway's and the worker's CPU. With
 * `--external-memory-accounted-in-global-limit`, external memory counts toward the heap's own
 * growing limit instead, as it does in recent V8 by design: short-lived buffers die in the
 * young generation's scavenges as before, and a full collection comes when the heap and its
 * buffers together have grown, not every 64 MiB of churn. Memory held stays bounded by the same
 * heuristics that bound the heap.
 */
import * as v8 from "node:v8";

export const EXTERNAL_MEMORY_IN_HEAP_LIMIT_FLAG = "--external-memory-accounted-in-global-limit";

/**
 * Applies the node's garbage-collection choice (MODELFLEET_GC_EXTERNAL_IN_HEAP_LIMIT) to this
 * process's V8. The flag is read by V8 at each allocation-limit check, so setting it once the
 * process runs takes effect from then on; it applies to the whole process (worker threads too).
 */
export function applyGcTuning(externalMemoryInHeapLimit: boolean): void {
	v8.setFlagsFromString(
		externalMemoryInHeapLimit
			? EXTERNAL_MEMORY_IN_HEAP_LIMIT_FLAG
			: EXTERNAL_MEMORY_IN_HEAP_LIMIT_FLAG.replace("--", "--no-"),
	);
}
