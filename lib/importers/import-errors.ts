/**
 * Turning what a parser or runtime threw into a reason a client may read: fs errors stay the
 * server's own, and the stored file's path never reaches the message.
 */

/** Longer parser messages (onnxruntime's can quote a whole graph) are cut to this. */
const MAX_REASON_LENGTH = 500;

/** fs errors (a missing blob, EACCES, EMFILE) are the server's problem, not the file's. */
export function isSystemError(error: unknown): boolean {
	return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === "string";
}

/** The error's message, with the stored file's path left out, cut to a readable length. */
export function reasonOf(error: unknown, filePath?: string): string {
	let message = error instanceof Error ? error.message : String(error);
	if (filePath) message = message.split(filePath).join("the file");
	message = message.replace(/^(Error: )+/, "").trim();
	if (message.length > MAX_REASON_LENGTH) message = message.slice(0, MAX_REASON_LENGTH) + " …";
	return message || "unknown error";
}
