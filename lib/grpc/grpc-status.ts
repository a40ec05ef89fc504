/**
 * Errors as gRPC answers: the same error table as HTTP (lib/http/error-response.ts decides the
 * status and the client's message), then the HTTP status mapped to the gRPC code a client of
 * Triton or KServe expects — 400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
 * 404 NOT_FOUND, 409 FAILED_PRECONDITION (ALREADY_EXISTS for a duplicate), 413 and 429
 * RESOURCE_EXHAUSTED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, anything else INTERNAL.
 */
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { toErrorResponse } from "../http/error-response";

/** The gRPC code of an HTTP status (and the error's type, for 409's two meanings). */
export function grpcCodeOf(httpStatus: number, type?: string): status {
	switch (httpStatus) {
		case 400:
		case 415:
		case 422:
			return status.INVALID_ARGUMENT;
		case 401:
			return status.UNAUTHENTICATED;
		case 403:
			return status.PERMISSION_DENIED;
		case 404:
			return status.NOT_FOUND;
		case 408:
		case 504:
			return status.DEADLINE_EXCEEDED;
		case 409:
			return type !== undefined && /EXISTS|DUPLICATE|TAKEN/.test(type)
				? status.ALREADY_EXISTS
				: status.FAILED_PRECONDITION;
		case 413:
		case 429:
			return status.RESOURCE_EXHAUSTED;
		case 501:
			return status.UNIMPLEMENTED;
		case 503:
			return status.UNAVAILABLE;
		default:
			return status.INTERNAL;
	}
}

/** What a client reads of an error: the code, the message, and the error's type and HTTP status as trailers. */
export function toGrpcError(err: unknown): Partial<ServiceError> & { code: status } {
	const response = toErrorResponse(err);
	const metadata = new Metadata();
	metadata.set("modelfleet-error-type", response.body.type);
	metadata.set("modelfleet-http-status", String(response.status));
	if (response.retryAfterS !== undefined)
		metadata.set("retry-after", String(response.retryAfterS));
	return {
		code: grpcCodeOf(response.status, response.body.type),
		details: response.body.message,
		metadata,
	};
}
