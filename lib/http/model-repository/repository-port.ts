/**
 * What the model repository extension needs of the fleet — the registry, the artifact store
 * and the scheduler's deployments, acting for the caller's tenant — as one interface, so its
 * logic is tested with a fake, and the one implementation over Moleculer calls.
 */
import { Readable } from "node:stream";
import type { ArtifactCall } from "../../artifacts/artifact-protocol";
import { uploadArtifact } from "../../artifacts/artifact-upload";
import type { FleetNode } from "../../fleet/node-inventory";
import { SERVICE } from "../../fleet/node-role";
import type { ModelView } from "../../registry/model-store";
import type { ModelFormat, ModelSchema } from "../../model-spec/model-schema";
import type { VersionView } from "../../registry/version-store";
import type {
	CreateDeploymentParams,
	UpdateDeploymentParams,
} from "../../scheduler/deployment-spec";
import type { DeploymentView } from "../../scheduler/deployment-store";
import type { ConfigBatching } from "./triton-model-config";

/** A version made from a stored model file (registry.versions.import). */
export interface ImportParams {
	model: string;
	version: string;
	artifact: string;
	format: ModelFormat;
	fileName: string;
	state: "Validated";
	schema?: ModelSchema;
	serving?: { batching: ConfigBatching };
}

export interface RepositoryPort {
	/** Every model of the tenant. */
	models(): Promise<ModelView[]>;
	/** One model; 404 when the tenant has none of that name. */
	model(name: string): Promise<ModelView>;
	createModel(input: { name: string; task: "other"; framework: string }): Promise<ModelView>;
	/** Deletes a model and its versions (none may be Deployed). */
	deleteModel(name: string): Promise<void>;
	/** Every version of a model. */
	versions(model: string): Promise<VersionView[]>;
	/** A version by reference (exact, alias, latest); 404 when unknown. */
	version(model: string, version?: string): Promise<VersionView>;
	/** Stores bytes in the artifact store; answers their sha256. */
	store(bytes: Buffer): Promise<string>;
	importVersion(params: ImportParams): Promise<VersionView>;
	deployments(): Promise<DeploymentView[]>;
	/** The model's deployment, or null when it has none. */
	deployment(model: string): Promise<DeploymentView | null>;
	createDeployment(params: CreateDeploymentParams): Promise<DeploymentView>;
	updateDeployment(params: UpdateDeploymentParams): Promise<DeploymentView>;
	deleteDeployment(model: string): Promise<void>;
	/** The fleet's nodes with their last live status (what each has loaded and pinned). */
	nodes(): Promise<FleetNode[]>;
}

/** An action call for the caller (its tenant and role travel in the call's meta). */
export type RepositoryCall = ArtifactCall;

/** Whether an error is a 404 (a missing model, version or deployment). */
export function isNotFound(error: unknown): boolean {
	return (error as { code?: unknown } | null)?.code === 404;
}

/** Whether an error is a 409 ALREADY_EXISTS (a concurrent create won). */
export function isAlreadyExists(error: unknown): boolean {
	return (error as { type?: unknown } | null)?.type === "ALREADY_EXISTS";
}

interface Page<T> {
	items: T[];
	nextCursor: string | null;
}

/** Every item of a paged list action. */
async function allPages<T>(
	call: RepositoryCall,
	action: string,
	params: Record<string, unknown>,
): Promise<T[]> {
	const items: T[] = [];
	let cursor: string | null = null;
	do {
		const page = (await call(action, {
			...params,
			limit: 500,
			...(cursor !== null ? { cursor } : {}),
		})) as Page<T>;
		items.push(...page.items);
		cursor = page.nextCursor;
	} while (cursor !== null);
	return items;
}

/** The port over the fleet's actions (`registry`, `artifacts`, `scheduler`). */
export function repositoryPort(call: RepositoryCall): RepositoryPort {
	return {
		models: () => allPages<ModelView>(call, `${SERVICE.registry}.models.list`, {}),
		model: async name => (await call(`${SERVICE.registry}.models.get`, { name })) as ModelView,
		createModel: async input =>
			(await call(`${SERVICE.registry}.models.create`, input)) as ModelView,
		deleteModel: async name => {
			await call(`${SERVICE.registry}.models.delete`, { name });
		},
		versions: model =>
			allPages<VersionView>(call, `${SERVICE.registry}.versions.list`, { model }),
		version: async (model, version) =>
			(await call(`${SERVICE.registry}.versions.get`, {
				model,
				...(version !== undefined ? { version } : {}),
			})) as VersionView,
		store: async bytes => (await uploadArtifact(call, Readable.from([bytes]))).sha256,
		importVersion: async params =>
			(await call(`${SERVICE.registry}.versions.import`, params)) as VersionView,
		deployments: async () =>
			(
				(await call(`${SERVICE.scheduler}.deployments.list`, {})) as {
					items: DeploymentView[];
				}
			).items,
		deployment: async model => {
			try {
				return (await call(`${SERVICE.scheduler}.deployments.get`, {
					model,
				})) as DeploymentView;
			} catch (error) {
				if (isNotFound(error)) return null;
				throw error;
			}
		},
		createDeployment: async params =>
			(await call(`${SERVICE.scheduler}.deployments.create`, params)) as DeploymentView,
		updateDeployment: async params =>
			(await call(`${SERVICE.scheduler}.deployments.update`, params)) as DeploymentView,
		deleteDeployment: async model => {
			await call(`${SERVICE.scheduler}.deployments.delete`, { model });
		},
		nodes: async () => (await call(`${SERVICE.scheduler}.nodes`, {})) as FleetNode[],
	};
}
