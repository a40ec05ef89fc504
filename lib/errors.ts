/**
 * The one error module (STYLE.md §3). Every error a client or an operator can cause is a
 * class here with a fixed `code` (HTTP-like), a stable UPPER_SNAKE `type` and plain-JSON
 * `data`: only those survive the transporter, where the receiving node rebuilds the
 * error by its class name.
 */
import { Errors } from "moleculer";

/** Every stable error type, with what it means. A test keeps this catalogue complete. */
export const ERROR_CATALOGUE = {
	INVALID_CONFIGURATION:
		"An environment variable or option has a value the node cannot use; the message names it and the accepted form.",
	SERVICE_NOT_READY:
		"A service this request needs is not running anywhere in the fleet yet (503); retry later.",
} as const;

export type ErrorType = keyof typeof ERROR_CATALOGUE;

/** One problem found in configuration: which setting and what is wrong with it. */
export interface ConfigurationProblem {
	setting: string;
	problem: string;
}

/**
 * Thrown at start when configuration is wrong. Not a client error: the node refuses to
 * start and says every wrong setting at once, so an operator fixes them in one go.
 */
export class InvalidConfigurationError extends Errors.MoleculerError {
	constructor(problems: ConfigurationProblem[]) {
		super(
			"Invalid configuration:\n" +
				problems.map(p => `  - ${p.setting}: ${p.problem}`).join("\n"),
			500,
			"INVALID_CONFIGURATION" satisfies ErrorType,
			{ problems },
		);
		this.name = "InvalidConfigurationError";
	}
}

/** A service the request needs has no available instance in the fleet. */
export class ServiceNotReadyError extends Errors.MoleculerRetryableError {
	constructor(missing: string[]) {
		super(
			`Not ready: no running instance of ${missing.join(", ")}. ` +
				"Start a node whose role runs it (see README, node roles), or retry in a moment.",
			503,
			"SERVICE_NOT_READY" satisfies ErrorType,
			{ missing },
		);
		this.name = "ServiceNotReadyError";
	}
}
