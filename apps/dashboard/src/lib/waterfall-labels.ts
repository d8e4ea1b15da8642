/** Roughly how wide a label of `text` is drawn at the waterfall's 11 px font (average glyph ≈ 6.2 px, plus padding). */
export function estimateLabelPx(text: string): number {
  return Math.ceil(text.length * 6.2) + 8;
}

/** Where a bar's label goes: after its end, before its start, or over the track's right end when neither fits. */
export type LabelSide = 'after' | 'before' | 'inside';

/**
 * Places a bar's label inside its track (never past its edges): after the bar's end when it fits there, else before
 * its start (the bar ends near the right edge), else right-aligned at the track's right edge over the bar.
 * `startFraction`/`endFraction` are the bar's ends as fractions of the track (clamped to 0–1).
 */
export function placeBarLabel(startFraction: number, endFraction: number, trackPx: number, labelPx: number): LabelSide {
  const gap = 4;
  const end = clamp01(endFraction) * trackPx;
  const start = clamp01(startFraction) * trackPx;
  if (end + gap + labelPx <= trackPx) return 'after';
  if (start - gap - labelPx >= 0) return 'before';
  return 'inside';
}

export interface MarkerLabel {
  /** The marker's position as a fraction of the track. */
  fraction: number;
  /** Which text line of the marker strip it is drawn on (0 = top). */
  lane: number;
  /** Whether the text runs left of the marker (near the right edge) rather than right of it. */
  flip: boolean;
}

/**
 * Lays out the labels of first-token markers in a strip of their own (between the axis and the rows, so they never
 * cover the axis' labels): each runs right of its marker, or left of it when it would pass the track's right edge,
 * on the first line where it overlaps no earlier label. Input order is kept; markers are placed by position.
 */
export function placeMarkerLabels(fractions: readonly number[], trackPx: number, labelPx: number): MarkerLabel[] {
  const gap = 6;
  const lanes: [number, number][][] = [];
  const placed = new Map<number, MarkerLabel>();
  const order = fractions.map((f, i) => [clamp01(f), i] as const).sort((a, b) => a[0] - b[0]);
  for (const [fraction, index] of order) {
    const x = fraction * trackPx;
    const flip = x + labelPx > trackPx;
    const from = flip ? x - labelPx : x;
    const to = flip ? x : x + labelPx;
    let lane = lanes.findIndex((taken) => taken.every(([a, b]) => to + gap <= a || from >= b + gap));
    if (lane === -1) {
      lane = lanes.length;
      lanes.push([]);
    }
    lanes[lane]?.push([from, to]);
    placed.set(index, { fraction, lane, flip });
  }
  return fractions.map((_, i) => placed.get(i) as MarkerLabel);
}

const clamp01 = (n: number) => Math.min(1, Math.max(0, n));
