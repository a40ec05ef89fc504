/** What `GET /health/ready` answers. */
export interface Readiness {
	ready: boolean;
	/** Needed services with no available instance anywhere in the fleet. */
	missing: string[];
}

/** Ready when the broker has started and every needed service has an available instance. */
export function checkReadiness(
	started: boolean,
	needed: readonly string[],
	isAvailable: (service: string) => boolean,
): Readiness {
	const missing = needed.filter(name => !isAvailable(name));
	return { ready: started && missing.length === 0, missing };
}
