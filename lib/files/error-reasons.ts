/**
 * Turning what a parser or runtime threw into a reason a client may read: fs errors stay the
 * server's own, the stored file's path never reaches the message, and neither do the file's
 * bytes (JSON.parse quotes the text around a syntax error; only where it is stays).
 */

/** Longer parser messages (onnxruntime's can quote a whole graph) are cut to this. */
const MAX_REASON_LENGTH = 500;

/** fs errors (a missing blob, EACCES, EMFILE) are the server's problem, not the file's. */
export function isSystemError(error: unknown): boolean {
	return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === "string";
}

/** The error's message, with the stored file's path left out, cut to a readable length. */
export function reasonOf(error: unknown, filePath?: string): string {
	if (error instanceof SyntaxError) return jsonSyntaxReason(error);
	let message = error instanceof Error ? error.message : String(error);
	if (filePath) message = message.split(filePath).join("the file");
	message = message.replace(/^(Error: )+/, "").trim();
	if (message.length > MAX_REASON_LENGTH) message = message.slice(0, MAX_REASON_LENGTH) + " …";
	return message || "unknown error";
}

/**
 * A JSON.parse error without the text it quotes (V8 writes `Unexpected token 'x', "…" is not
 * valid JSON`): where the error is, and nothing of the content.
 */
export function jsonSyntaxReason(error: SyntaxError): string {
	const at = /\bat position \d+(?: \(line \d+ column \d+\))?/.exec(error.message);
	return at ? `a JSON syntax error ${at[0]}` : "a JSON syntax error";
}
