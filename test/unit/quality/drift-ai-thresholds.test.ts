import { detectAiDisagreement } from '../../../src/quality/ai-disagreement';
import { detectDrift, windowOf } from '../../../src/quality/drift';
import { DEFAULT_QUALITY_THRESHOLDS, evaluateThresholds, resolveQualityThresholds } from '../../../src/quality/quality-thresholds';

const opts = { minItems: 20, minDrop: 0.15, minZ: 2 };

describe('annotator drift', () => {
  it('flags an annotator whose latest window falls well below their earlier windows', () => {
    const findings = detectDrift(
      {
        steady: { '1': { items: 50, agreed: 45 }, '2': { items: 50, agreed: 44 }, '3': { items: 50, agreed: 46 } },
        drifter: { '1': { items: 50, agreed: 46 }, '2': { items: 50, agreed: 45 }, '3': { items: 50, agreed: 25 } },
      },
      opts,
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ annotatorId: 'drifter', latest: { window: 3, items: 50, agreement: 0.5 }, before: { windows: 2, items: 100 } });
    expect(findings[0].drop).toBeCloseTo(0.41, 10);
    expect(findings[0].z).toBeGreaterThan(4);
    expect(findings[0].severity).toBe('high');
  });

  it('ignores small windows, a single window, small drops and improvements', () => {
    expect(detectDrift({ a: { '1': { items: 50, agreed: 45 }, '2': { items: 5, agreed: 0 } } }, opts)).toEqual([]);
    expect(detectDrift({ a: { '1': { items: 500, agreed: 450 } } }, opts)).toEqual([]);
    expect(detectDrift({ a: { '1': { items: 5000, agreed: 4500 }, '2': { items: 5000, agreed: 4000 } } }, opts)).toEqual([]); // drop 0.1
    expect(detectDrift({ a: { '1': { items: 50, agreed: 20 }, '2': { items: 50, agreed: 49 } } }, opts)).toEqual([]);
  });

  it('drop alone is not enough: 30 → 25 of 30 is a 0.17 drop but z < 2', () => {
    expect(detectDrift({ a: { '1': { items: 20, agreed: 20 }, '2': { items: 20, agreed: 17 } } }, opts)).toEqual([]);
  });

  it('windows are floor(time / length)', () => {
    expect(windowOf(0, 1000)).toBe(0);
    expect(windowOf(2999, 1000)).toBe(2);
  });
});

describe('systematic AI-vs-human disagreement', () => {
  it('finds a label the engine over-uses and one it misses', () => {
    const S = '\u0000';
    // e1 says "neutral" for 20 items humans call "negative"; it is right on "positive".
    const findings = detectAiDisagreement(
      { e1: { [`positive${S}positive`]: 30, [`neutral${S}negative`]: 20, [`neutral${S}neutral`]: 5, [`negative${S}negative`]: 4 } },
      { minItems: 10, minRate: 0.5 },
    );
    expect(findings.map((f) => [f.direction, f.label, f.items, f.disagreements, f.mostCommonOther.label])).toEqual([
      ['ai_label', 'neutral', 25, 20, 'negative'],
      ['final_label', 'negative', 24, 20, 'neutral'],
    ]);
    expect(findings[0].rate).toBe(0.8);
    expect(findings[0].severity).toBe('high');
  });

  it('needs enough items', () => {
    expect(detectAiDisagreement({ e: { ['a\u0000b']: 9 } }, { minItems: 10, minRate: 0.5 })).toEqual([]);
  });
});

describe('quality thresholds', () => {
  it('defaults: alpha < 0.667 is an alert, < 0.8 a warning, null nothing', () => {
    const t = DEFAULT_QUALITY_THRESHOLDS;
    expect(evaluateThresholds({ krippendorff_alpha: 0.5 }, t)).toEqual([{ metric: 'krippendorff_alpha', value: 0.5, severity: 'alert', threshold: 0.667 }]);
    expect(evaluateThresholds({ krippendorff_alpha: 0.743 }, t)).toEqual([{ metric: 'krippendorff_alpha', value: 0.743, severity: 'warning', threshold: 0.8 }]);
    expect(evaluateThresholds({ krippendorff_alpha: 0.8 }, t)).toEqual([]);
    expect(evaluateThresholds({ krippendorff_alpha: null, fleiss_kappa: 0.1 }, t)).toEqual([]);
  });

  it('project overrides: routing.quality_thresholds, then the quality_thresholds column; junk is ignored', () => {
    const t = resolveQualityThresholds({
      routing: { quality_thresholds: { krippendorff_alpha: { alert: 0.5 }, ai_accuracy_vs_final: { alert: 0.9 }, drift: { window_hours: 1 } } },
      quality_thresholds: { krippendorff_alpha: { warning: 'high' }, near_duplicate: { similarity: 0.9 } },
    });
    expect(t.krippendorff_alpha).toEqual({ alert: 0.5, warning: 0.8 });
    expect(t.ai_accuracy_vs_final).toEqual({ alert: 0.9 });
    expect(t.drift.window_hours).toBe(1);
    expect(t.near_duplicate.similarity).toBe(0.9);
    expect(evaluateThresholds({ krippendorff_alpha: 0.6, ai_accuracy_vs_final: 0.8 }, t).map((a) => [a.metric, a.severity])).toEqual([
      ['krippendorff_alpha', 'warning'],
      ['ai_accuracy_vs_final', 'alert'],
    ]);
  });
});
