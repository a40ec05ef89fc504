/** `modelfleet models …` and `modelfleet datasets …`: the registry and datasets. */
import * as path from "node:path";
import type { Command } from "commander";
import { ModelfleetApiError, type ModelfleetClient } from "../../lib/client";
import type { CliContext } from "./context";
import { itemsOf } from "./context";
import { emit, table, uploadProgress } from "./output";

/** The framework a model file's name suggests, for a model that `push` creates. */
export function frameworkOf(file: string): string {
	if (/\.onnx$/i.test(file)) return "onnx";
	if (/\.json$/i.test(file)) return "xgboost";
	if (/\.(tar|tgz|tar\.gz)$/i.test(file)) return "tfjs";
	return "onnx";
}

interface PushOptions {
	model?: string;
	version?: string;
	bump?: "major" | "minor" | "patch";
	state?: string;
	format?: string;
	task: string;
	framework?: string;
	idempotencyKey?: string;
	json?: boolean;
}

/** Creates `name` unless it exists: `models push` works on a new model in one step. */
async function ensureModel(
	client: ModelfleetClient,
	name: string,
	options: PushOptions,
	file: string,
) {
	try {
		await client.getModel(name);
	} catch (err) {
		if (!(err instanceof ModelfleetApiError) || err.status !== 404) throw err;
		await client.createModel({
			name,
			task: options.task,
			framework: options.framework ?? frameworkOf(file),
		});
	}
}

export function registerModels(program: Command, ctx: CliContext): void {
	const models = program
		.command("models")
		.description("the model registry: list, show, create, push, transition, alias");

	models
		.command("list")
		.description("the tenant's models")
		.option("--tag <tag>", "only models with this tag (key or key=value)")
		.option("--json", "print JSON only")
		.action(async (options: { tag?: string; json?: boolean }) => {
			const page = await ctx.client().listModels({ tag: options.tag, limit: 500 });
			emit(ctx.output(options), page.items, () =>
				table(page.items, ["name", "task", "framework", "description"]),
			);
		});

	models
		.command("show <name>")
		.description("a model with its versions and aliases")
		.option("--json", "print JSON only")
		.action(async (name: string, options: { json?: boolean }) => {
			const client = ctx.client();
			const model = await client.getModel(name);
			const versions = (await client.listVersions(name, { limit: 500 })).items;
			emit(ctx.output(options), { ...model, versions }, () =>
				[
					`${model.name}  (${model.task}, ${model.framework})${model.description ? `\n${model.description}` : ""}`,
					"",
					table(
						versions.map(v => ({
							...v,
							metrics: (v.metrics ?? []).map(m => `${m.name}=${m.value}`).join(" "),
						})),
						["version", "state", "format", "aliases", "metrics"],
					),
				].join("\n"),
			);
		});

	models
		.command("create <name>")
		.description("create a model (push creates one too when it is missing)")
		.requiredOption("--task <task>", "classification, regression, …")
		.requiredOption("--framework <framework>", "onnx, tfjs, xgboost")
		.option("--description <text>", "what it is for")
		.option("--json", "print JSON only")
		.action(
			async (
				name: string,
				options: { task: string; framework: string; description?: string; json?: boolean },
			) => {
				const { json, ...rest } = options;
				const model = await ctx.client().createModel({ name, ...rest });
				emit(ctx.output({ json }), model, () => `${model.name} created`);
			},
		);

	registerPush(models, ctx);
	registerLifecycle(models, ctx);
}

/** `models push`: upload with a byte progress bar. */
function registerPush(models: Command, ctx: CliContext): void {
	models
		.command("push <file>")
		.description(
			"upload a model file (ONNX, TF.js tar, XGBoost JSON) as a new version, creating the model if needed",
		)
		.requiredOption("-m, --model <name>", "the model to add the version to")
		.option("--version <semver>", "the version (default: --bump minor)")
		.option("--bump <part>", "major, minor or patch: the next version after the latest")
		.option("--state <state>", "register it in this state, e.g. Validated to deploy it at once")
		.option("--format <format>", "the file's format (default: from the file)")
		.option("--task <task>", "for a new model: its task", "classification")
		.option(
			"--framework <framework>",
			"for a new model: its framework (default: from the file name)",
		)
		.option(
			"--idempotency-key <key>",
			"send the push again safely: a key already used with this file and options answers the version it made (default: a new key, printed when the push may have been cut short)",
		)
		.option("--json", "print JSON only")
		.action(async (file: string, options: PushOptions) => {
			const client = ctx.client();
			const out = ctx.output(options);
			await ensureModel(client, options.model!, options, file);
			const progress = uploadProgress(out, `uploading ${path.basename(file)}`);
			const version = await client
				.uploadVersion(
					options.model!,
					{ path: file },
					{
						version: options.version,
						bump: options.version ? undefined : (options.bump ?? "minor"),
						state: options.state,
						format: options.format,
						idempotencyKey: options.idempotencyKey,
						onProgress: progress.onProgress,
					},
				)
				.finally(() => progress.done());
			emit(
				out,
				version,
				() => `${options.model}@${version.version} ${version.state} (${version.format})`,
			);
		});
}

/** `models transition` and `models alias`. */
function registerLifecycle(models: Command, ctx: CliContext): void {
	models
		.command("transition <name> <version> <state>")
		.description(
			"move a version through its lifecycle (Draft, Trained, Validated, Deployed, Retired…)",
		)
		.option("--reason <text>", "why, kept in the audit log")
		.option("--json", "print JSON only")
		.action(
			async (
				name: string,
				version: string,
				state: string,
				options: { reason?: string; json?: boolean },
			) => {
				const moved = await ctx.client().transition(name, version, state, options.reason);
				emit(ctx.output(options), moved, () => `${name}@${moved.version} ${moved.state}`);
			},
		);

	models
		.command("alias <name> <alias> [version]")
		.description(
			"point an alias at a version (or --delete it); without a version, list the aliases",
		)
		.option("--delete", "remove the alias")
		.option("--json", "print JSON only")
		.action(
			async (
				name: string,
				alias: string,
				version: string | undefined,
				options: { delete?: boolean; json?: boolean },
			) => {
				const client = ctx.client();
				const out = ctx.output(options);
				if (options.delete) {
					const answer = await client.deleteAlias(name, alias);
					emit(out, answer ?? { deleted: alias }, () => `${name}@${alias} removed`);
				} else if (version) {
					const set = await client.setAlias(name, alias, version);
					emit(out, set, () => `${name}@${alias} → ${version}`);
				} else {
					const aliases = itemsOf(await client.listAliases(name));
					emit(out, aliases, () => table(aliases, ["alias", "version"]));
				}
			},
		);
}

export function registerDatasets(program: Command, ctx: CliContext): void {
	const datasets = program.command("datasets").description("training datasets: push, list");

	datasets
		.command("push <file>")
		.description(
			"upload a CSV or NDJSON file as the next version of a dataset, validated as it streams",
		)
		.requiredOption("-n, --name <name>", "the dataset's name")
		.option("--label-column <column>", "the column to predict (checked at upload)")
		.option("--format <format>", "csv or ndjson (default: from the file name)")
		.option("--json", "print JSON only")
		.action(
			async (
				file: string,
				options: {
					name: string;
					labelColumn?: string;
					format?: "csv" | "ndjson";
					json?: boolean;
				},
			) => {
				const out = ctx.output(options);
				const progress = uploadProgress(out, `uploading ${path.basename(file)}`);
				const dataset = await ctx
					.client()
					.pushDataset(
						{ path: file },
						{
							name: options.name,
							labelColumn: options.labelColumn,
							format: options.format,
							onProgress: progress.onProgress,
						},
					)
					.finally(() => progress.done());
				emit(out, dataset, () => `${dataset.ref}: ${dataset.rows} rows`);
			},
		);

	datasets
		.command("list")
		.description("the tenant's datasets")
		.option("--json", "print JSON only")
		.action(async (options: { json?: boolean }) => {
			const page = await ctx.client().listDatasets({ limit: 500 });
			emit(ctx.output(options), page.items, () =>
				table(page.items, ["ref", "rows", "labelColumn", "createdAt"]),
			);
		});
}
