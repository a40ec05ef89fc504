/**
 * The node's garbage-collection tuning (lib/process/gc-tuning.ts): its V8 flags, and what they do,
 * measured in child processes that hold a heap like a loaded node's and allocate request-sized
 * buffers. With the tuning, full collections stay rare; without each part of it, V8 runs them
 * again and again.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { DEFAULT_GC_TUNING, gcTuningFlags, type GcTuning } from "../../../lib/process/gc-tuning";

const ROOT = path.join(__dirname, "..", "..", "..");

/** Runs `body` in a child after applying `tuning`; `kept` (a 40 MiB heap) and `major` are in scope. */
function majorCollections(tuning: GcTuning, body: string): number {
	const script = `
		const { applyGcTuning } = require(${JSON.stringify(path.join(ROOT, "lib", "process", "gc-tuning.ts"))});
		const { PerformanceObserver, constants } = require("node:perf_hooks");
		applyGcTuning(${JSON.stringify(tuning)});
		const kept = [];
		for (let i = 0; i < 300000; i++) kept.push({ i, text: "row " + i });
		// A full collection now, as a loaded node has had: V8 sizes its limits from what survived.
		require("node:vm").runInNewContext("gc")();
		let major = 0;
		const observer = new PerformanceObserver(list => {
			for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
		});
		observer.observe({ entryTypes: ["gc"] });
		const done = sum => setTimeout(() => {
			observer.disconnect();
			process.stdout.write(JSON.stringify({ major, kept: kept.length, sum }));
		}, 50);
		${body}
	`;
	const out = execFileSync(
		process.execPath,
		["--expose-gc", "--require", path.join(ROOT, "scripts", "ts-register.js"), "-e", script],
		{ cwd: ROOT, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } },
	);
	return (JSON.parse(out) as { major: number }).major;
}

/** 1 GiB of 32 KiB buffers, one after another. */
const CHURN = `
	let sum = 0;
	for (let i = 0; i < 32768; i++) {
		const body = Buffer.allocUnsafe(32768);
		body[0] = i & 255;
		sum += body[0];
	}
	done(sum);
`;

/**
 * 40,000 requests, 16 in flight, each a 32 KiB buffer and a few small objects, 50 to a turn of
 * the event loop: nothing outlives its request, so the old generation does not grow at all.
 */
const REQUESTS = `
	let sum = 0, n = 0;
	const inFlight = [];
	const turn = () => {
		for (let r = 0; r < 50; r++, n++) {
			const request = { body: Buffer.allocUnsafe(32768), parts: [] };
			request.body[0] = n & 255;
			sum += request.body[0];
			for (let i = 0; i < 20; i++) request.parts.push({ i });
			inFlight.push(request);
			if (inFlight.length > 16) inFlight.shift();
		}
		if (n < 40000) setImmediate(turn);
		else done(sum);
	};
	turn();
`;

const V8_DEFAULTS: GcTuning = {
	externalMemoryInHeapLimit: false,
	youngBufferMiB: 0,
	heapGrowthPercent: 0,
};

describe("gcTuningFlags", () => {
	it("turns the tuning into V8 flags, leaving out what keeps V8's own", () => {
		expect(gcTuningFlags(DEFAULT_GC_TUNING, 2)).toEqual([
			"--external-memory-accounted-in-global-limit",
			// 32 MiB of young buffers: twice a semi-space of 8 units of 2 MiB.
			"--scavenger-max-new-space-capacity-mb=8",
			"--heap-growing-percent=200",
		]);
		expect(gcTuningFlags(V8_DEFAULTS, 2)).toEqual([
			"--no-external-memory-accounted-in-global-limit",
		]);
	});

	it("sizes the young-buffer trigger by the pointer size, at least one unit", () => {
		const tuning = { ...DEFAULT_GC_TUNING, heapGrowthPercent: 0 };
		expect(gcTuningFlags({ ...tuning, youngBufferMiB: 32 }, 1)).toContain(
			"--scavenger-max-new-space-capacity-mb=16",
		);
		expect(gcTuningFlags({ ...tuning, youngBufferMiB: 1 }, 2)).toContain(
			"--scavenger-max-new-space-capacity-mb=1",
		);
	});
});

describe("applyGcTuning", () => {
	it("keeps full collections rare while request-sized buffers churn", () => {
		expect(majorCollections(DEFAULT_GC_TUNING, CHURN)).toBeLessThanOrEqual(2);
	});

	it("without it, V8 collects the whole heap every 64 MiB of buffers (what the tuning is for)", () => {
		expect(majorCollections(V8_DEFAULTS, CHURN)).toBeGreaterThanOrEqual(6);
	});

	it("keeps full collections rare for a node whose old generation does not grow", () => {
		expect(majorCollections(DEFAULT_GC_TUNING, REQUESTS)).toBeLessThanOrEqual(3);
	});

	it("at V8's lowest growing factor, full collections follow one another, young-buffer trigger or not (why the heap growth is set)", () => {
		// 10 %: what V8 picks for a node that promotes almost nothing, as a fleet worker's last full
		// collections did; the limit's headroom is then a few MiB, which young buffers fill at once.
		for (const youngBufferMiB of [0, DEFAULT_GC_TUNING.youngBufferMiB]) {
			const lowestFactor = { ...DEFAULT_GC_TUNING, youngBufferMiB, heapGrowthPercent: 10 };
			expect(majorCollections(lowestFactor, REQUESTS)).toBeGreaterThanOrEqual(5);
		}
	});
});
