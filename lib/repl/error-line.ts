/**
 * Any failure of a REPL command as the one line an operator reads: `error: <what went
 * wrong and what to do>.` Client errors already say that; Moleculer's own errors (validation,
 * no such service, timeout) are put in the same words.
 */

interface ErrorLike {
	message?: unknown;
	type?: unknown;
	data?: unknown;
}

interface ValidationItem {
	message?: unknown;
	field?: unknown;
}

export function errorLine(err: unknown): string {
	return `error: ${describeError(err)}`;
}

function describeError(err: unknown): string {
	if (err === null || typeof err !== "object") return oneLine(String(err));
	const { message, type, data } = err as ErrorLike;
	const text = typeof message === "string" && message.trim() !== "" ? message : String(err);
	const action = actionOf(data);
	switch (type) {
		case "VALIDATION_ERROR": {
			const items = Array.isArray(data) ? (data as ValidationItem[]) : [];
			const problems = items
				.map(item => (typeof item.message === "string" ? item.message : ""))
				.filter(Boolean);
			return problems.length > 0
				? `invalid input: ${oneLine(problems.join("; "))}`
				: oneLine(text);
		}
		case "SERVICE_NOT_FOUND":
		case "SERVICE_NOT_AVAILABLE":
			return action
				? `no node of the fleet offers ${action} now; check that the fleet runs, with this REPL's TRANSPORTER and MODELFLEET_NAMESPACE.`
				: oneLine(text);
		case "REQUEST_TIMEOUT":
			return action
				? `${action} did not answer in time (MODELFLEET_REQUEST_TIMEOUT_MS); the node may be overloaded or gone.`
				: oneLine(text);
		default:
			return oneLine(text);
	}
}

function actionOf(data: unknown): string | null {
	if (data === null || typeof data !== "object") return null;
	const action = (data as { action?: unknown }).action;
	return typeof action === "string" ? `'${action}'` : null;
}

function oneLine(text: string): string {
	return text.replace(/\s*\n\s*/g, " ").trim();
}
