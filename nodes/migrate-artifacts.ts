/**
 * `modelfleet migrate-artifacts --from <store> --to <store>` — copies every blob of one
 * artifact backend into another (`local`, `nats`, `s3://bucket/prefix`; the other settings as
 * the control node reads them). Each blob goes through a temp file and is written only when its
 * plaintext hashes to its name (sealed blobs are checked with MODELFLEET_ENCRYPTION_KEY and
 * copied sealed); blobs the target holds already are skipped, so a cut-off run is finished by
 * running it again. Run it with the control nodes stopped.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { Errors } from "moleculer";
import { verifyBlobFile } from "../lib/artifacts/artifact-store";
import { createBlobBackend, type ArtifactsBackendSetting } from "../lib/artifacts/backends";
import { readArtifactsSetting } from "../lib/config/artifact-settings";
import { EnvReader } from "../lib/settings/env-reader";
import { loadNodeConfig, type Environment } from "../lib/config/node-config";
import { InvalidConfigurationError } from "../lib/errors";

export interface MigrationReport {
	copied: number;
	/** Blobs the target held already (same size), skipped. */
	alreadyThere: number;
	failed: { sha256: string; reason: string }[];
}

/** `--from x --to y` or `--from=x --to=y`. */
function argument(args: readonly string[], name: string): string | undefined {
	const at = args.indexOf(name);
	if (at >= 0) return args[at + 1];
	return args.find(a => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

function sameStore(a: ArtifactsBackendSetting, b: ArtifactsBackendSetting): boolean {
	if (a.kind !== b.kind) return false;
	if (a.kind === "local") return true;
	if (a.kind === "nats" && b.kind === "nats") return a.bucket === b.bucket;
	if (a.kind === "s3" && b.kind === "s3") {
		return a.bucket === b.bucket && a.prefix === b.prefix && a.endpoint === b.endpoint;
	}
	return false;
}

export async function migrateArtifacts(
	env: Environment,
	args: readonly string[],
	print: (line: string) => void = line => console.log(line),
): Promise<{ status: number; report: MigrationReport }> {
	const config = loadNodeConfig("control", env);
	const read = new EnvReader(env);
	const context = { role: config.role, namespace: config.namespace, nats: config.nats };
	const settings = (["--from", "--to"] as const).map(name => {
		const text = argument(args, name);
		if (text === undefined) {
			read.fail(name, "is required: local, nats or s3://bucket/prefix");
			return null;
		}
		return readArtifactsSetting(read, context, { setting: name, text });
	});
	const [from, to] = settings;
	if (from && to && read.problems.length === 0 && sameStore(from, to)) {
		read.fail("--to", "names the same store as --from");
	}
	if (read.problems.length > 0 || !from || !to) {
		throw new InvalidConfigurationError(read.problems);
	}

	const root = path.join(config.dataDir, "artifacts");
	const tempDir = path.join(root, "tmp");
	await fs.promises.mkdir(tempDir, { recursive: true });
	const source = createBlobBackend(from, root, "modelfleet-migrate-artifacts");
	const target = createBlobBackend(to, root, "modelfleet-migrate-artifacts");
	const report: MigrationReport = { copied: 0, alreadyThere: 0, failed: [] };
	await source.open();
	try {
		await target.open();
		print(`Copying the artifacts of ${source.description} to ${target.description}…`);
		for await (const blob of source.list()) {
			const there = await target.stat(blob.sha256);
			if (there !== null && there.size === blob.size) {
				report.alreadyThere++;
				continue;
			}
			const temp = path.join(tempDir, `${randomUUID()}.migrate.part`);
			try {
				await pipeline(
					await source.get(blob.sha256),
					fs.createWriteStream(temp, { flags: "wx" }),
				);
				await verifyBlobFile(temp, config.encryptionKey, blob.sha256);
				const storedBytes = (await fs.promises.stat(temp)).size;
				await target.putFile(blob.sha256, temp, {
					size: blob.size,
					storedBytes,
					// GC's grace period counts from the original store.
					nowMs: blob.lastStoredAtMs,
				});
				const copied = await target.stat(blob.sha256);
				if (copied?.storedBytes !== storedBytes) {
					throw new Error(
						`the target holds ${copied?.storedBytes ?? "no"} bytes after the copy, not ${storedBytes}`,
					);
				}
				report.copied++;
			} catch (err) {
				report.failed.push({ sha256: blob.sha256, reason: (err as Error).message });
			} finally {
				await fs.promises.rm(temp, { force: true });
			}
		}
	} finally {
		await Promise.all([source.close(), target.close()]);
	}
	print(
		`${report.copied} copied, ${report.alreadyThere} already there, ${report.failed.length} failed.`,
	);
	for (const failure of report.failed) print(`  failed: ${failure.sha256}: ${failure.reason}`);
	if (report.failed.length > 0) {
		print("Fix the failures and run it again; blobs copied already are skipped.");
		return { status: 1, report };
	}
	print(`Done: start the control nodes with MODELFLEET_ARTIFACTS set to the new store.`);
	return { status: 0, report };
}

/** migrateArtifacts as a process: prints configuration errors plainly and exits with its status. */
export async function runMigrateArtifacts(env: Environment, args: string[]): Promise<void> {
	try {
		const { status } = await migrateArtifacts(env, args);
		process.exit(status);
	} catch (err) {
		if (err instanceof Errors.MoleculerError && err.type === "INVALID_CONFIGURATION") {
			console.error(err.message);
		} else {
			console.error("migrate-artifacts failed:", err);
		}
		process.exit(1);
	}
}
