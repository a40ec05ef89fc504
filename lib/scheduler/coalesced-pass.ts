/**
 * A pass that never overlaps itself: triggering while one runs asks for exactly one more run
 * after it (however many triggers came meanwhile), so bursts of events cost one extra pass.
 */
export class CoalescedPass {
	private running: Promise<void> | null = null;
	private again = false;

	constructor(private readonly pass: () => Promise<void>) {}

	/** Runs a pass now, or right after the one in progress; resolves when no pass is due. */
	trigger(): Promise<void> {
		if (this.running) {
			this.again = true;
			return this.running;
		}
		this.running = (async () => {
			try {
				do {
					this.again = false;
					await this.pass();
				} while (this.again);
			} finally {
				this.running = null;
			}
		})();
		return this.running;
	}

	get active(): boolean {
		return this.running !== null;
	}
}
