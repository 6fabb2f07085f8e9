/**
 * Systematic AI-versus-human disagreement per label. Pure.
 *
 * Input: per engine, the confusion of its labels against the items' final labels (majority of the
 * human annotations, or gold): `confusion["<ai label>\u0000<final label>"] = items`. Two directions
 * are checked for every label L with at least `minItems` items:
 *   - `ai_label`:    of the items the engine labelled L, the share whose final label differs
 *                    (the engine over-uses L);
 *   - `final_label`: of the items whose final label is L, the share the engine labelled otherwise
 *                    (the engine misses L).
 * A share ≥ `minRate` is a finding, with the most common other label. O(cells).
 */
export interface AiDisagreementOptions {
  minItems: number;
  minRate: number;
}

export interface AiDisagreementFinding {
  engineId: string;
  direction: 'ai_label' | 'final_label';
  label: string;
  items: number;
  disagreements: number;
  rate: number;
  /** The label most often on the other side, and how often. */
  mostCommonOther: { label: string; items: number };
  severity: 'high' | 'medium';
}

const SEP = '\u0000';

export function detectAiDisagreement(
  engines: Record<string, Record<string, number>>,
  options: AiDisagreementOptions,
): AiDisagreementFinding[] {
  const findings: AiDisagreementFinding[] = [];
  for (const engineId of Object.keys(engines).sort()) {
    // by[direction][label][other] = items
    const by = { ai_label: new Map<string, Map<string, number>>(), final_label: new Map<string, Map<string, number>>() };
    for (const [cell, n] of Object.entries(engines[engineId])) {
      const [ai, final] = cell.split(SEP);
      add(by.ai_label, ai, final, n);
      add(by.final_label, final, ai, n);
    }
    for (const direction of ['ai_label', 'final_label'] as const) {
      for (const label of [...by[direction].keys()].sort()) {
        const others = by[direction].get(label)!;
        let items = 0;
        let same = 0;
        let top = { label: '', items: 0 };
        for (const [other, n] of [...others].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
          items += n;
          if (other === label) same += n;
          else if (n > top.items) top = { label: other, items: n };
        }
        if (items < options.minItems) continue;
        const disagreements = items - same;
        const rate = disagreements / items;
        if (rate >= options.minRate && disagreements > 0) {
          findings.push({ engineId, direction, label, items, disagreements, rate, mostCommonOther: top, severity: rate >= 0.75 ? 'high' : 'medium' });
        }
      }
    }
  }
  return findings;
}

function add(m: Map<string, Map<string, number>>, key: string, other: string, n: number) {
  let inner = m.get(key);
  if (!inner) m.set(key, (inner = new Map()));
  inner.set(other, (inner.get(other) ?? 0) + n);
}
