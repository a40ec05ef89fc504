/**
 * Peak resident memory of this process, sampled every 50 ms: what a transfer added on top of
 * where the process stood before it (peak minus baseline).
 */
export interface RssFigures {
	baselineBytes: number;
	peakBytes: number;
	growthBytes: number;
	samples: number;
	/** Where the memory was at the peak: V8 heap, and buffers outside it. */
	atPeak: { heapTotalBytes: number; externalBytes: number; arrayBuffersBytes: number };
}

export class RssSampler {
	private baseline = process.memoryUsage.rss();
	private peak = this.baseline;
	private samples = 0;
	private atPeak = this.breakdown();
	private readonly timer: NodeJS.Timeout;

	constructor(intervalMs = 50) {
		this.timer = setInterval(() => this.sample(), intervalMs);
		this.timer.unref();
	}

	/** Starts measuring from here: the baseline is the current RSS. */
	reset(): void {
		this.baseline = process.memoryUsage.rss();
		this.peak = this.baseline;
		this.samples = 0;
		this.atPeak = this.breakdown();
	}

	figures(): RssFigures {
		this.sample();
		return {
			baselineBytes: this.baseline,
			peakBytes: this.peak,
			growthBytes: this.peak - this.baseline,
			samples: this.samples,
			atPeak: this.atPeak,
		};
	}

	stop(): void {
		clearInterval(this.timer);
	}

	private sample(): void {
		const rss = process.memoryUsage.rss();
		if (rss > this.peak) {
			this.peak = rss;
			this.atPeak = this.breakdown();
		}
		this.samples++;
	}

	private breakdown(): RssFigures["atPeak"] {
		const usage = process.memoryUsage();
		return {
			heapTotalBytes: usage.heapTotal,
			externalBytes: usage.external,
			arrayBuffersBytes: usage.arrayBuffers,
		};
	}
}
