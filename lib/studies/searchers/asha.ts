/**
 * ASHA (asynchronous successive halving, Li et al. 2018) made deterministic, so a trial that is
 * delayed (its trainer died and it resumed elsewhere) changes nothing the study decides.
 *
 * Every trial starts at rung 0 (`minEpochs` epochs). Rung k lasts `minEpochs · η^k` epochs
 * (the last rung ends at the spec's `epochs`). Each rung's members stand in a fixed order: at
 * rung 0 the trials by index; member m of rung k+1 is the best of members mη … mη+η−1 of rung
 * k (its "block"), ties to the lower trial index. A block promotes as soon as its own η members
 * have finished the rung, without waiting for the rest of the rung (the asynchrony), and since
 * a block's members are fixed by the order, not by who finished first, the same metrics always
 * give the same promotions. A rung keeps ⌊members/η⌋ of them, as successive halving does.
 */

export interface AshaOptions {
	/** Epochs of rung 0 (ASHA's r). */
	minEpochs: number;
	/** Keep 1 of every η at each rung. Default 3. */
	reductionFactor: number;
}

/** The epoch at which each rung ends: r, rη, rη², … below `maxEpochs`, then `maxEpochs`. */
export function ashaRungs(options: AshaOptions, maxEpochs: number): number[] {
	const rungs: number[] = [];
	for (let e = options.minEpochs; e < maxEpochs; e *= options.reductionFactor) rungs.push(e);
	rungs.push(maxEpochs);
	return rungs;
}

/**
 * A trial's score at a rung: a number (higher is better), null when its run there failed (it
 * loses every block), undefined while it has not finished that rung.
 */
export type RungScore = (trial: number, rung: number) => number | null | undefined;

/** The trials that go on to each rung above 0, as far as the finished rungs decide. */
export function ashaPromotions(
	trials: number,
	rungCount: number,
	eta: number,
	score: RungScore,
): { trial: number; rung: number }[] {
	const promoted: { trial: number; rung: number }[] = [];
	// A member: its trial, null when its block produced no one (every member failed), undefined while undecided.
	let members: (number | null | undefined)[] = Array.from({ length: trials }, (_, i) => i);
	for (let rung = 1; rung < rungCount; rung++) {
		const next: (number | null | undefined)[] = [];
		for (let b = 0; b + eta <= members.length; b += eta) {
			next.push(blockWinner(members.slice(b, b + eta), rung - 1, score));
		}
		for (const trial of next) if (typeof trial === "number") promoted.push({ trial, rung });
		members = next;
	}
	return promoted;
}

function blockWinner(
	block: (number | null | undefined)[],
	rung: number,
	score: RungScore,
): number | null | undefined {
	let winner: number | null = null;
	let best = -Infinity;
	for (const trial of block) {
		if (trial === undefined) return undefined;
		if (trial === null) continue;
		const s = score(trial, rung);
		if (s === undefined) return undefined;
		if (s !== null && (s > best || (s === best && winner !== null && trial < winner))) {
			best = s;
			winner = trial;
		}
	}
	return winner;
}
