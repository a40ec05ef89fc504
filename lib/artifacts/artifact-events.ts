/**
 * The events the artifacts service emits and their payloads (STYLE.md §9). They belong in
 * lib/events.ts with the others; kept here until that shared module takes them.
 */
export const ARTIFACT_EVENTS = {
	/** A blob was stored for the first time (not emitted when identical content was already there). */
	stored: "artifact.stored",
} as const;

export interface ArtifactStoredPayload {
	sha256: string;
	size: number;
}

export interface ArtifactEventPayloads {
	[ARTIFACT_EVENTS.stored]: ArtifactStoredPayload;
}
