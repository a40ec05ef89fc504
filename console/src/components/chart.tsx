/**
 * A line chart with uPlot (about 50 KB, canvas, fast on thousands of points): `x` along the
 * bottom, one line per series. Made once, given new data as it comes (a training curve per
 * epoch, a request rate per poll).
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const COLOURS = ["#1d5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0f766e"];

/** Tick steps for an x that counts (epochs): whole numbers only. */
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

export interface ChartProps {
	title: string;
	xLabel: string;
	/** The x values: whole numbers (epochs), or seconds since the epoch with `time`. */
	x: number[];
	series: Array<{ label: string; values: Array<number | null> }>;
	time?: boolean;
	height?: number;
}

export function Chart({ title, xLabel, x, series, time = false, height = 220 }: ChartProps) {
	const box = useRef<HTMLDivElement>(null);
	const plot = useRef<uPlot | null>(null);
	const shape = series.map(s => s.label).join("\u0000");

	useEffect(() => {
		if (!box.current) return;
		const width = Math.max(box.current.clientWidth, 280);
		plot.current = new uPlot(
			{
				width,
				height,
				scales: { x: { time } },
				legend: { show: false },
				cursor: { show: true, drag: { x: false, y: false } },
				// Epochs are whole: ticks at 1, 2, 5, 10… rather than uPlot's 0.2 steps.
				axes: [time ? { label: xLabel } : { label: xLabel, incrs: WHOLE_STEPS }, {}],
				series: [
					{ label: xLabel },
					...series.map((s, i) => ({
						label: s.label,
						stroke: COLOURS[i % COLOURS.length],
						width: 2,
					})),
				],
			},
			[x, ...series.map(s => s.values)] as uPlot.AlignedData,
			box.current,
		);
		const resize = () => {
			if (box.current && plot.current)
				plot.current.setSize({ width: Math.max(box.current.clientWidth, 280), height });
		};
		addEventListener("resize", resize);
		return () => {
			removeEventListener("resize", resize);
			plot.current?.destroy();
			plot.current = null;
		};
		// Made again only when the lines change; new points go through setData below.
	}, [shape, time, height]);

	useEffect(() => {
		plot.current?.setData([x, ...series.map(s => s.values)] as uPlot.AlignedData);
	});

	const last = series
		.map(s => `${s.label} ${s.values.length ? fmt(s.values[s.values.length - 1]) : "—"}`)
		.join(", ");
	return (
		<figure class="chart" data-points={x.length}>
			<figcaption>
				<strong>{title}</strong>
				<span class="legend">
					{series.map((s, i) => (
						<span key={s.label} class="legend-item">
							<span
								class="swatch"
								style={{ background: COLOURS[i % COLOURS.length] }}
								aria-hidden="true"
							/>
							{s.label}
						</span>
					))}
				</span>
			</figcaption>
			<div ref={box} role="img" aria-label={`${title}: ${x.length} points; latest ${last}`} />
		</figure>
	);
}

function fmt(value: number | null | undefined): string {
	return typeof value === "number"
		? Number.isInteger(value)
			? String(value)
			: value.toFixed(3)
		: "—";
}
