/**
 * The benchmark runner: `npm run bench -- <overhead|batching|pool|oip|training|data-parallel|explain|quota|capture|grpc|optimization|studies|pglite|json-answers|all>`. Prints the machine
 * and each benchmark's table as Markdown (the form RESULTS.md keeps).
 *
 * Between benchmarks the heap is collected and the process rests a moment: the batching
 * benchmark leaves hundreds of thousands of requests' garbage, and V8's background marking
 * of it would otherwise take a core from the next benchmark's threads.
 */
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { runBatching } from "./batching";
import { runCapture } from "./capture";
import { runDataParallel } from "./data-parallel";
import { runExplain } from "./explain";
import { runGrpcLoad } from "./grpc";
import { runJsonAnswers } from "./json-answers";
import { runOipLoad } from "./oip-load";
import { runOptimization } from "./optimization";
import { runOverhead } from "./overhead";
import { runPgliteQueries } from "./pglite-queries";
import { runPool } from "./pool";
import { runQuotaLoad } from "./quota-load";
import { runStudies } from "./studies";
import { runTraining } from "./training";
import { describeMachine } from "./support/machine";

const BENCHMARKS: Readonly<Record<string, () => Promise<string>>> = {
	overhead: runOverhead,
	batching: runBatching,
	pool: runPool,
	oip: runOipLoad,
	training: runTraining,
	"data-parallel": runDataParallel,
	explain: runExplain,
	quota: runQuotaLoad,
	capture: runCapture,
	grpc: runGrpcLoad,
	optimization: runOptimization,
	studies: runStudies,
	pglite: runPgliteQueries,
	"json-answers": runJsonAnswers,
};

/** A full garbage collection, now (`gc` exposed at run time, without a flag on the command). */
function collectGarbage(): void {
	v8.setFlagsFromString("--expose-gc");
	(vm.runInNewContext("gc") as () => void)();
}

async function settle(): Promise<void> {
	collectGarbage();
	await new Promise(resolve => setTimeout(resolve, 1000));
}

async function main(args: readonly string[]): Promise<void> {
	const wanted = args.length === 0 || args.includes("all") ? Object.keys(BENCHMARKS) : [...args];
	const unknown = wanted.filter(name => !Object.hasOwn(BENCHMARKS, name));
	if (unknown.length > 0) {
		console.error(
			`Unknown benchmark ${unknown.join(", ")}; choose from: ${Object.keys(BENCHMARKS).join(", ")}, all.`,
		);
		process.exitCode = 2;
		return;
	}
	console.log("```\n" + describeMachine() + "\n```\n");
	for (const name of wanted) {
		await settle();
		const started = performance.now();
		const table = await BENCHMARKS[name]();
		console.log(table);
		console.log(`\n(${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
	}
}

main(process.argv.slice(2)).catch(error => {
	console.error(error);
	process.exitCode = 1;
});
