/**
 * Annotator drift: an annotator whose agreement with the consensus of the other annotators falls
 * in their latest time window, compared with their own earlier windows. Pure.
 *
 * Input: per annotator, per window index (time bucket, larger = later), the number of items where
 * a leave-one-out consensus existed and how many of those the annotator matched (as
 * `consensusAgreement` counts them). Windows with fewer than `minItems` items are ignored.
 * The latest qualifying window is compared with the pooled earlier qualifying windows by a
 * two-proportion z-test (pooled standard error):
 *
 *   drop = p_before − p_latest,   z = drop / sqrt(p̂ (1 − p̂) (1/n_before + 1/n_latest))
 *
 * and flagged when drop ≥ minDrop and z ≥ minZ (both, so a large sample cannot flag a trivial
 * drop and a tiny one cannot flag noise). Cost: O(windows).
 */
export interface WindowCounts {
  items: number;
  agreed: number;
}

export interface DriftOptions {
  minItems: number;
  minDrop: number;
  minZ: number;
}

export interface DriftFinding {
  annotatorId: string;
  /** Agreement before the latest window (pooled) and in it. */
  before: { windows: number; items: number; agreement: number };
  latest: { window: number; items: number; agreement: number };
  drop: number;
  z: number;
  severity: 'high' | 'medium';
}

export function detectDrift(perAnnotator: Record<string, Record<string, WindowCounts>>, options: DriftOptions): DriftFinding[] {
  const findings: DriftFinding[] = [];
  for (const annotatorId of Object.keys(perAnnotator).sort()) {
    const windows = Object.entries(perAnnotator[annotatorId])
      .map(([w, c]) => ({ window: Number(w), ...c }))
      .filter((w) => w.items >= options.minItems)
      .sort((a, b) => a.window - b.window);
    if (windows.length < 2) continue;
    const latest = windows[windows.length - 1];
    let n1 = 0;
    let a1 = 0;
    for (const w of windows.slice(0, -1)) {
      n1 += w.items;
      a1 += w.agreed;
    }
    const p1 = a1 / n1;
    const p2 = latest.agreed / latest.items;
    const drop = p1 - p2;
    const pooled = (a1 + latest.agreed) / (n1 + latest.items);
    const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / latest.items));
    const z = se === 0 ? (drop > 0 ? Infinity : 0) : drop / se;
    if (drop >= options.minDrop && z >= options.minZ) {
      findings.push({
        annotatorId,
        before: { windows: windows.length - 1, items: n1, agreement: p1 },
        latest: { window: latest.window, items: latest.items, agreement: p2 },
        drop,
        z: Number.isFinite(z) ? z : Number.MAX_VALUE,
        severity: drop >= 2 * options.minDrop ? 'high' : 'medium',
      });
    }
  }
  return findings;
}

/** The window index of a time: floor(epoch ms / window length). */
export function windowOf(atMs: number, windowMs: number): number {
  return Math.floor(atMs / windowMs);
}
