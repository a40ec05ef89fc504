/** The typed client of modelfleet's REST API: `new ModelfleetClient({url, apiKey})`. */
export { ModelfleetClient, parseTrainingEvent, type ClientOptions } from "./client";
export { ModelfleetApiError, apiErrorFrom } from "./errors";
export { readSse, SseParser, type SseMessage } from "./sse";
export type { UploadSource, UploadProgress, ProgressCallback } from "./upload";
export * from "./types";
export { configPath, readConfig, writeConfig, resolveConfig, type ClientConfig } from "./config";
