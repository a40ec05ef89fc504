/** How the pipelines name a step in their 400s: `pipeline.pre[2] (one-hot): …`. */
import { InvalidInputError } from "../errors";

export function stepName(side: "pre" | "post", index: number, type: string): string {
	return `pipeline.${side}[${index}] (${type})`;
}

export function stepError(step: string, problem: string): InvalidInputError {
	return new InvalidInputError(`${step}: ${problem}.`, { step });
}
