/** `modelfleet train`, `deploy`, `scale`, `rollback`, `promote`, `predict`, `nodes`, `usage`. */
import * as fs from "node:fs";
import type { Command } from "commander";
import type {
	Deployment,
	ModelfleetClient,
	PredictRequest,
	TrainingJob,
	TrainingJobSpec,
} from "../../lib/client";
import { ModelfleetApiError } from "../../lib/client";
import { UsageError, itemsOf, positiveInt, type CliContext } from "./context";
import { emit, table, trainingProgress, type Output } from "./output";

interface TrainOptions {
	model: string;
	dataset: string;
	labelColumn: string;
	epochs?: number;
	spec?: string;
	follow?: boolean;
	json?: boolean;
}

function trainingSpec(options: TrainOptions): TrainingJobSpec {
	let extra: Record<string, unknown> = {};
	if (options.spec) {
		try {
			extra = JSON.parse(
				options.spec.startsWith("@")
					? fs.readFileSync(options.spec.slice(1), "utf8")
					: options.spec,
			) as Record<string, unknown>;
		} catch (err) {
			throw new UsageError(`--spec is not a JSON object: ${(err as Error).message}`);
		}
	}
	return {
		...extra,
		target: options.model,
		dataset: options.dataset,
		labelColumn: options.labelColumn,
		...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
	};
}

/** Follows the job's stream to its end; the job as it ended (a failed job throws). */
async function followJob(client: ModelfleetClient, out: Output, id: string): Promise<TrainingJob> {
	const progress = trainingProgress(out);
	try {
		for await (const event of client.followTrainingJob(id)) progress.onEvent(event);
	} finally {
		progress.done();
	}
	const job = await client.getTrainingJob(id);
	if (job.state !== "completed")
		throw new ModelfleetApiError(
			0,
			"TRAINING_FAILED",
			`job ${id} ${job.state}${job.error ? `: ${job.error}` : ""}`,
		);
	return job;
}

function jobSummary(job: TrainingJob): string {
	const result = job.result as {
		version?: string;
		state?: string;
		metrics?: Record<string, number>;
	} | null;
	if (job.state !== "completed" || !result) return `job ${job.id} ${job.state}`;
	const metrics = Object.entries(result.metrics ?? {})
		.map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
		.join(" ");
	return `job ${job.id} completed: ${job.model}@${result.version} ${result.state ?? ""}${metrics ? `\n${metrics}` : ""}`;
}

async function waitReady(
	client: ModelfleetClient,
	model: string,
	timeoutS: number,
): Promise<Deployment> {
	const deadline = Date.now() + timeoutS * 1000;
	for (;;) {
		const view = await client.getDeployment(model);
		if (view.readyReplicas >= view.replicas && view.replicas > 0) return view;
		if (Date.now() > deadline)
			throw new ModelfleetApiError(
				0,
				"TIMEOUT",
				`${model}: ${view.readyReplicas} of ${view.replicas} replicas ready after ${timeoutS} s`,
			);
		await new Promise(resolve => setTimeout(resolve, 250));
	}
}

function deploymentLine(d: Deployment): string {
	const traffic = (d.traffic ?? []).map(t => `${t.version}:${t.weight}`).join(" ");
	return `${d.model}: ${d.readyReplicas}/${d.replicas} ready${traffic ? `, traffic ${traffic}` : ""}`;
}

export function registerTraining(program: Command, ctx: CliContext): void {
	program
		.command("train")
		.description("queue a training job; --follow shows its epochs live until it ends")
		.requiredOption("-m, --model <name>", "the model that gets the trained version")
		.requiredOption("-d, --dataset <ref>", "the dataset: name, name@N, id or sha256")
		.requiredOption("-l, --label-column <column>", "the column to predict")
		.option("--epochs <n>", "epochs to run", positiveInt("--epochs"))
		.option(
			"--spec <json>",
			"more of the job spec as JSON (or @file.json): earlyStopping, acceptance, seed…",
		)
		.option("-f, --follow", "follow the job's progress until it ends (exit 1 if it fails)")
		.option("--json", "print JSON only (the job; with --follow, the job as it ended)")
		.action(async (options: TrainOptions) => {
			const client = ctx.client();
			const out = ctx.output(options);
			const job = await client.submitTrainingJob(trainingSpec(options));
			if (!options.follow) return emit(out, job, () => `job ${job.id} ${job.state}`);
			if (!out.json) out.write(`job ${job.id} queued\n`);
			const done = await followJob(client, out, job.id);
			emit(out, done, () => jobSummary(done));
		});
}

export function registerDeployments(program: Command, ctx: CliContext): void {
	program
		.command("deploy <model>")
		.description("deploy a model version (Validated or Deployed) to serve predictions")
		.option("--version <version>", "the version or alias (default: the latest)")
		.option("-r, --replicas <n>", "replicas", positiveInt("--replicas"))
		.option("-w, --wait", "wait until every replica is ready")
		.option("--timeout <s>", "how long --wait waits", positiveInt("--timeout"), 120)
		.option("--json", "print JSON only")
		.action(
			async (
				model: string,
				options: {
					version?: string;
					replicas?: number;
					wait?: boolean;
					timeout: number;
					json?: boolean;
				},
			) => {
				const client = ctx.client();
				let view = await client.createDeployment({
					model,
					version: options.version,
					replicas: options.replicas,
				});
				if (options.wait) view = await waitReady(client, model, options.timeout);
				emit(ctx.output(options), view, () => deploymentLine(view));
			},
		);

	program
		.command("scale <model> <replicas>")
		.description("set a deployment's replica count")
		.option("--json", "print JSON only")
		.action(async (model: string, replicas: string, options: { json?: boolean }) => {
			const view = await ctx
				.client()
				.scaleDeployment(model, positiveInt("replicas")(replicas));
			emit(ctx.output(options), view, () => deploymentLine(view));
		});

	registerTraffic(program, ctx);

	program
		.command("deployments")
		.description("the tenant's deployments")
		.option("--json", "print JSON only")
		.action(async (options: { json?: boolean }) => {
			const items = (await ctx.client().listDeployments({ limit: 500 })).items;
			emit(ctx.output(options), items, () =>
				table(
					items.map(d => ({
						...d,
						traffic: (d.traffic ?? []).map(t => `${t.version}:${t.weight}`).join(" "),
					})),
					["model", "replicas", "readyReplicas", "traffic"],
				),
			);
		});
}

/** `canary`, `rollback`, `promote`: a deployment's traffic split. */
function registerTraffic(program: Command, ctx: CliContext): void {
	program
		.command("canary <model> <version>")
		.description(
			"send a share of the traffic to another version (the rest stays on the main one)",
		)
		.option("--weight <percent>", "the canary's share, 1–99", positiveInt("--weight"), 10)
		.option("--json", "print JSON only")
		.action(
			async (model: string, version: string, options: { weight: number; json?: boolean }) => {
				if (options.weight < 1 || options.weight > 99)
					throw new UsageError("--weight must be 1–99");
				const client = ctx.client();
				const current = await client.getDeployment(model);
				const main = [...(current.traffic ?? [])].sort((a, b) => b.weight - a.weight)[0];
				if (!main)
					throw new ModelfleetApiError(
						0,
						"STATE_CONFLICT",
						`${model} has no traffic to split`,
					);
				const view = await client.updateDeployment(model, {
					traffic: [
						{ version: main.version, weight: 100 - options.weight },
						{ version, weight: options.weight },
					],
				});
				emit(ctx.output(options), view, () => deploymentLine(view));
			},
		);

	program
		.command("rollback <model>")
		.description("restore the traffic split from before the deployment's last change")
		.option("--json", "print JSON only")
		.action(async (model: string, options: { json?: boolean }) => {
			const view = await ctx.client().rollbackDeployment(model);
			emit(ctx.output(options), view, () => deploymentLine(view));
		});

	program
		.command("promote <model>")
		.description("send all traffic to a version (default: the canary)")
		.option("--version <version>", "the version to promote")
		.option("--json", "print JSON only")
		.action(async (model: string, options: { version?: string; json?: boolean }) => {
			const view = await ctx.client().promoteDeployment(model, options.version);
			emit(ctx.output(options), view, () => deploymentLine(view));
		});
}

/** The predict body from --data or --file: an array of rows is `instances`, an object is sent as it is. */
function predictBody(options: { data?: string; file?: string }): PredictRequest {
	if (!options.data === !options.file)
		throw new UsageError("give the rows with --data '<json>' or --file <path> (- for stdin)");
	let text: string;
	try {
		text = options.data ?? fs.readFileSync(options.file === "-" ? 0 : options.file!, "utf8");
	} catch (err) {
		throw new ModelfleetApiError(0, "FILE_UNREADABLE", (err as Error).message);
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch (err) {
		throw new UsageError(`the rows are not JSON: ${(err as Error).message}`);
	}
	if (Array.isArray(parsed)) return { instances: parsed };
	if (parsed !== null && typeof parsed === "object") return parsed as PredictRequest;
	throw new UsageError("the rows must be a JSON array of rows or a request object");
}

export function registerPredict(program: Command, ctx: CliContext): void {
	program
		.command("predict <model>")
		.description(
			"ask a deployed model: rows as a JSON array (instances) or a full request object",
		)
		.option("--version <version>", "a specific version or alias")
		.option("--data <json>", "the rows, e.g. '[[5.1,3.5,1.4,0.2]]' or '[{\"x\":1}]'")
		.option("--file <path>", "read the rows from a JSON file (- for stdin)")
		.option("--json", "print JSON only (the whole answer)")
		.action(
			async (
				model: string,
				options: { version?: string; data?: string; file?: string; json?: boolean },
			) => {
				const body = predictBody(options);
				const answer = await ctx.client().predict(model, body, options.version);
				emit(ctx.output(options), answer, () =>
					[
						`${answer.model_name ?? model}@${answer.model_version ?? "?"}`,
						...answer.outputs.map(
							o =>
								`${o.name} [${o.shape.join("×")}] ${o.datatype}: ${JSON.stringify(o.data)}`,
						),
					].join("\n"),
				);
			},
		);
}

export function registerFleet(program: Command, ctx: CliContext): void {
	program
		.command("nodes")
		.description("the fleet's nodes: role, availability, capacity")
		.option("--role <role>", "only nodes of this role")
		.option("--json", "print JSON only")
		.action(async (options: { role?: string; json?: boolean }) => {
			const nodes = itemsOf(await ctx.client().listNodes({ role: options.role }));
			const rows = nodes.map(n => ({
				...n,
				cpus: (n.capacity as { cpus?: number } | undefined)?.cpus,
				gpus: ((n.capacity as { gpus?: unknown[] } | undefined)?.gpus ?? []).length,
			}));
			emit(ctx.output(options), nodes, () =>
				table(rows, ["nodeID", "role", "available", "hostname", "cpus", "gpus"]),
			);
		});

	program
		.command("usage")
		.description("the tenant's usage per model and version, by hour or day")
		.option("--from <time>", "ISO time (default: the server's)")
		.option("--to <time>", "ISO time")
		.option("--granularity <g>", "hour or day")
		.option("--model <name>", "one model only")
		.option("--json", "print JSON only")
		.action(
			async (options: {
				from?: string;
				to?: string;
				granularity?: "hour" | "day";
				model?: string;
				json?: boolean;
			}) => {
				const { json, ...query } = options;
				const report = await ctx.client().usage(query);
				emit(ctx.output({ json }), report, () =>
					table(report.usage, [
						"period",
						"model",
						"version",
						"requests",
						"rows",
						"errors",
						"cpuMs",
						"gpuMs",
					]),
				);
			},
		);
}
