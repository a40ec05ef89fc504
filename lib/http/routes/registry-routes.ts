/**
 * /api/v1 routes of the registry (models, versions, aliases, files, audit, datasets), each
 * documented beside its alias (lib/http/openapi/declarations.ts).
 */
import { SERVICE } from "../../fleet/node-role";
import { IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency-key-header";
import {
	arrayOf,
	BINARY,
	created,
	documented,
	json,
	ok,
	page,
	schemaRef,
	type ParameterDoc,
} from "../openapi/declarations";

const RANGE_HEADERS: readonly ParameterDoc[] = [
	{
		name: "Range",
		in: "header",
		description: "One byte range (`bytes=0-1023`); the answer is 206 with that part.",
		schema: { type: "string" },
	},
	{
		name: "If-None-Match",
		in: "header",
		description: "The file's ETag (its sha256): 304 when it has not changed.",
		schema: { type: "string" },
	},
];

export const REGISTRY_ROUTES = {
	"GET models": documented(`${SERVICE.registry}.models.list`, {
		tag: "Models",
		summary: "List models",
		responses: { 200: json("A page of models.", page("Model")) },
	}),
	"POST models": documented(`${SERVICE.registry}.models.create`, {
		tag: "Models",
		summary: "Create a model",
		responses: { 201: created("The new model.", schemaRef("Model")) },
		errors: [409],
	}),
	"GET models/:name": documented(`${SERVICE.registry}.models.get`, {
		tag: "Models",
		summary: "Show a model",
		responses: { 200: ok("The model.", "Model") },
		errors: [404],
	}),
	"PATCH models/:name": documented(`${SERVICE.registry}.models.update`, {
		tag: "Models",
		summary: "Change a model's description or tags",
		responses: { 200: ok("The model now.", "Model") },
		errors: [404],
	}),
	"DELETE models/:name": documented(`${SERVICE.registry}.models.delete`, {
		tag: "Models",
		summary: "Delete a model",
		responses: { 200: ok("What was deleted.", "Deleted") },
		errors: [404, 409],
	}),
	"GET models/:model/versions": documented(`${SERVICE.registry}.versions.list`, {
		tag: "Versions",
		summary: "List a model's versions",
		responses: { 200: json("A page of versions.", page("Version")) },
		errors: [404],
	}),
	"POST models/:model/versions": documented(`${SERVICE.registry}.versions.create`, {
		tag: "Versions",
		summary: "Create a version from an artifact",
		parameters: [IDEMPOTENCY_KEY_PARAMETER],
		responses: {
			201: created("The new version.", schemaRef("Version"), IDEMPOTENT_REPLAYED_HEADER),
		},
		errors: [404, 409],
	}),
	"GET models/:model/versions/:version": documented(`${SERVICE.registry}.versions.get`, {
		tag: "Versions",
		summary: "Show a version",
		responses: { 200: ok("The version.", "Version") },
		errors: [404],
	}),
	"PATCH models/:model/versions/:version": documented(`${SERVICE.registry}.versions.update`, {
		tag: "Versions",
		summary: "Change a version's description, metrics or labels",
		responses: { 200: ok("The version now.", "Version") },
		errors: [404],
	}),
	"POST models/:model/versions/:version/transition": documented(
		`${SERVICE.registry}.versions.transition`,
		{
			tag: "Versions",
			summary: "Move a version through its lifecycle",
			responses: { 200: ok("The version in its new state.", "Version") },
			errors: [404, 409],
		},
	),
	"GET models/:model/aliases": documented(`${SERVICE.registry}.aliases.list`, {
		tag: "Aliases",
		summary: "List a model's aliases",
		responses: { 200: json("The aliases.", arrayOf("Alias")) },
		errors: [404],
	}),
	"PUT models/:model/aliases/:alias": documented(`${SERVICE.registry}.aliases.set`, {
		tag: "Aliases",
		summary: "Point an alias at a version",
		responses: { 200: ok("The alias, and the version it pointed at before.", "Alias") },
		errors: [404, 409],
	}),
	"DELETE models/:model/aliases/:alias": documented(`${SERVICE.registry}.aliases.delete`, {
		tag: "Aliases",
		summary: "Delete an alias",
		responses: { 200: ok("The alias that was deleted.", "AliasDeleted") },
		errors: [404],
	}),
	"POST models/:model/versions/import": documented(`${SERVICE.registry}.versions.import`, {
		tag: "Versions",
		summary: "Import a version from an uploaded model file",
		parameters: [IDEMPOTENCY_KEY_PARAMETER],
		responses: {
			201: created(
				"The new version, its schema read from the file.",
				schemaRef("Version"),
				IDEMPOTENT_REPLAYED_HEADER,
			),
		},
		errors: [404, 409],
	}),
	"GET models/:model/versions/:version/files": documented(`${SERVICE.registry}.versions.files`, {
		tag: "Versions",
		summary: "List a version's files",
		responses: { 200: ok("The files, with sizes and digests.", "VersionFiles") },
		errors: [404],
	}),
	// Downloads stream from the artifacts service in ranged parts (bounded memory, any size).
	"GET models/:model/versions/:version/files/:path": documented(`${SERVICE.api}.downloadFile`, {
		tag: "Versions",
		summary: "Download a version's file",
		description: "Streamed; one `Range` is honoured, the ETag is the file's sha256.",
		parameters: RANGE_HEADERS,
		responses: {
			200: {
				description: "The whole file.",
				content: { "application/octet-stream": BINARY },
				headers: {
					ETag: { description: "The file's sha256, quoted.", schema: { type: "string" } },
					"Accept-Ranges": { description: "`bytes`.", schema: { type: "string" } },
				},
			},
			206: {
				description: "The range asked for.",
				content: { "application/octet-stream": BINARY },
				headers: {
					"Content-Range": {
						description: "`bytes first-last/size`.",
						schema: { type: "string" },
					},
				},
			},
			304: { description: "Not modified: the ETag matches `If-None-Match`." },
		},
		errors: [404, 416],
	}),
	"GET audit": documented(`${SERVICE.registry}.audit.list`, {
		tag: "Audit",
		summary: "Read the audit log",
		responses: { 200: json("A page of entries, newest first.", page("AuditEntry")) },
	}),

	"POST datasets": documented(`stream:${SERVICE.api}.uploadDataset`, {
		tag: "Datasets",
		summary: "Upload a dataset",
		description:
			"CSV or NDJSON (as `format` says), checked while it streams: the raw body, whatever its " +
			"type, or the file part of a `multipart/form-data` form.",
		requestBody: {
			content: {
				"text/csv": { type: "string" },
				"application/x-ndjson": { type: "string" },
				"application/octet-stream": BINARY,
				"multipart/form-data": {
					type: "object",
					properties: { file: BINARY },
					required: ["file"],
				},
			},
		},
		responses: { 201: created("The dataset.", schemaRef("Dataset")) },
		errors: [409],
	}),
	"GET datasets": documented(`${SERVICE.registry}.datasets.list`, {
		tag: "Datasets",
		summary: "List datasets",
		responses: { 200: json("A page of datasets.", page("Dataset")) },
	}),
	"GET datasets/:ref": documented(`${SERVICE.registry}.datasets.get`, {
		tag: "Datasets",
		summary: "Show a dataset",
		responses: { 200: ok("The dataset.", "Dataset") },
		errors: [404],
	}),
};
