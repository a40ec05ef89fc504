/**
 * The benchmark runner: `npm run bench -- <overhead|batching|pool|all>`. Prints the machine
 * and each benchmark's table as Markdown (the form RESULTS.md keeps).
 */
import { runBatching } from "./batching";
import { runOverhead } from "./overhead";
import { runPool } from "./pool";
import { describeMachine } from "./support/machine";

const BENCHMARKS: Readonly<Record<string, () => Promise<string>>> = {
	overhead: runOverhead,
	batching: runBatching,
	pool: runPool,
};

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
