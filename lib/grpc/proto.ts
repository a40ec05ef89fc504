/**
 * The checked-in protocol definition (proto/grpc_service.proto) loaded for @grpc/grpc-js:
 * field names as written (snake_case, as tritonclient sends them), int64 as numbers, a oneof's
 * field named in `parameter_choice`, empty repeated fields as empty arrays.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";

export const PROTO_LOADER_OPTIONS: Options = {
	keepCase: true,
	longs: Number,
	enums: String,
	defaults: false,
	arrays: true,
	oneofs: true,
};

/** The proto file, whether this runs from the sources (lib/grpc) or the build (dist/lib/grpc). */
export function protoPath(): string {
	for (const up of ["../..", "../../.."]) {
		const candidate = path.resolve(__dirname, up, "proto", "grpc_service.proto");
		if (fs.existsSync(candidate)) return candidate;
	}
	throw new Error("proto/grpc_service.proto is missing from this installation.");
}

/** `inference.GRPCInferenceService`: its definition, as a server adds it and a client is made of it. */
export function inferenceService(): {
	definition: ServiceDefinition;
	Client: GrpcObject[string];
} {
	const loaded = loadPackageDefinition(loadSync(protoPath(), PROTO_LOADER_OPTIONS));
	const Client = (loaded.inference as GrpcObject).GRPCInferenceService as GrpcObject[string] & {
		service: ServiceDefinition;
	};
	return { definition: Client.service, Client };
}
