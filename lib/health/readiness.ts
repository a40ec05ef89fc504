/** What `GET /health/ready` answers. */
export interface Readiness {
	ready: boolean;
	/** Needed services with no available instance anywhere in the fleet. */
	missing: string[];
	/**
	 * Services that are unavailable now but were seen since start, which the node does without
	 * for a while (a gateway serves deployed models from its caches while no control node
	 * answers). Present only when not empty.
	 */
	degraded?: string[];
}

/**
 * Readiness that outlives the control plane. A service named `essential` must be available
 * now; any other needed service must be available now or have been available once since the
 * node started: a gateway that has met the control node holds its keys, versions and routing
 * in fallback caches, so it keeps serving (and stays in its load balancer) through a control
 * outage, with the missing services listed as `degraded`. A gateway that has never met them
 * has nothing cached and is not ready.
 */
export class FallbackReadiness {
	private readonly seen = new Set<string>();

	constructor(
		private readonly needed: readonly string[],
		private readonly essential: readonly string[],
	) {}

	/**
	 * Notes which needed services are available now; answers those that are not. Called on every
	 * change of the fleet's services, so a service seen between two probes counts as seen.
	 */
	observe(isAvailable: (service: string) => boolean): string[] {
		const unavailable: string[] = [];
		for (const name of this.needed) {
			if (isAvailable(name)) this.seen.add(name);
			else unavailable.push(name);
		}
		return unavailable;
	}

	check(started: boolean, isAvailable: (service: string) => boolean): Readiness {
		const unavailable = this.observe(isAvailable);
		return decideFallbackReadiness(started, unavailable, this.seen, this.essential);
	}
}

/** The decision of FallbackReadiness, given which needed services are unavailable now. */
export function decideFallbackReadiness(
	started: boolean,
	unavailable: readonly string[],
	seen: ReadonlySet<string>,
	essential: readonly string[],
): Readiness {
	const missing = unavailable.filter(name => essential.includes(name) || !seen.has(name));
	const degraded = unavailable.filter(name => !missing.includes(name));
	return {
		ready: started && missing.length === 0,
		missing,
		...(degraded.length > 0 ? { degraded } : {}),
	};
}

/** One thing a node needs before it is ready, named as `missing` names it. */
export interface ReadinessCheck {
	name: string;
	/** True when met; a check that throws, or answers after the timeout, is not met. */
	ok(): boolean | Promise<boolean>;
	/** True when met only through a fallback: the check is then named in `degraded`. */
	degraded?(): boolean;
}

/** Runs every check at once, each within `timeoutMs`: ready when all are met. */
export async function runReadinessChecks(
	checks: readonly ReadinessCheck[],
	timeoutMs: number,
): Promise<Readiness> {
	const results = await Promise.all(checks.map(check => metWithin(check, timeoutMs)));
	const missing = checks.filter((_, i) => !results[i]).map(check => check.name);
	const degraded = checks
		.filter((check, i) => results[i] && check.degraded?.() === true)
		.map(check => check.name);
	return {
		ready: missing.length === 0,
		missing,
		...(degraded.length > 0 ? { degraded } : {}),
	};
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
