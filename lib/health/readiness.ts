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

/** One thing a node needs before it is ready, named as `missing` names it. */
export interface ReadinessCheck {
	name: string;
	/** True when met; a check that throws, or answers after the timeout, is not met. */
	ok(): boolean | Promise<boolean>;
}

/** Runs every check at once, each within `timeoutMs`: ready when all are met. */
export async function runReadinessChecks(
	checks: readonly ReadinessCheck[],
	timeoutMs: number,
): Promise<Readiness> {
	const results = await Promise.all(checks.map(check => metWithin(check, timeoutMs)));
	const missing = checks.filter((_, i) => !results[i]).map(check => check.name);
	return { ready: missing.length === 0, missing };
}

async function metWithin(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<boolean>(resolve => {
		timer = setTimeout(() => resolve(false), timeoutMs);
	});
	try {
		return await Promise.race([Promise.resolve().then(() => check.ok()), late]);
	} catch {
		return false;
	} finally {
		clearTimeout(timer);
	}
}
