import { decideFinalLabel, type FinalLabelSources, type ResolutionSource } from '../../../src/quality/final-label';

const LABELS = ['positive', 'negative', 'neutral'];
const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 12, 0, s)).toISOString();
const human = (annotatorId: string, label: string, s = 0) => ({ annotationId: `ann-${annotatorId}`, annotatorId, value: { label }, at: at(s) });
const resolution = (status: ResolutionSource['status'], label: string, extra: Partial<ResolutionSource> = {}): ResolutionSource => ({
  conflictId: `c-${status}`,
  status,
  method: status === 'resolved' ? 'expert' : 'majority_vote',
  value: { label },
  resolvedBy: status === 'resolved' ? 'boss' : 'system',
  resolvedAt: at(30),
  reason: null,
  inputs: [{ annotation_id: 'ann-a', annotator_id: 'a', value: { label: 'positive' } }],
  ...extra,
});
const sources = (s: Partial<FinalLabelSources>): FinalLabelSources => ({ itemId: 'i1', gold: null, expert: null, auto: null, human: [], ai: null, ...s });
const ai = { annotationId: 'ai-1', engineId: 'engine-1', value: { label: 'neutral' }, confidence: 0.93, at: at(1) };

describe('decideFinalLabel: expert > gold > auto > consensus > AI', () => {
  const all = sources({
    gold: { value: { label: 'negative' }, at: at(0) },
    expert: resolution('resolved', 'neutral', { reason: 'guideline 2' }),
    auto: resolution('auto_resolved', 'positive'),
    human: [human('a', 'positive'), human('b', 'positive')],
    ai,
  });

  test('each source wins over every source below it', () => {
    expect(decideFinalLabel(all, LABELS)).toMatchObject({ source: 'expert', label: 'neutral', decidedBy: 'boss', conflictId: 'c-resolved', details: { reason: 'guideline 2' } });
    expect(decideFinalLabel({ ...all, expert: null }, LABELS)).toMatchObject({ source: 'gold', label: 'negative', decidedBy: 'gold' });
    expect(decideFinalLabel({ ...all, expert: null, gold: null }, LABELS)).toMatchObject({ source: 'auto', method: 'majority_vote', label: 'positive', decidedBy: 'system' });
    expect(decideFinalLabel({ ...all, expert: null, gold: null, auto: null }, LABELS)).toMatchObject({ source: 'consensus', method: 'unanimous', label: 'positive' });
    expect(decideFinalLabel({ ...all, expert: null, gold: null, auto: null, human: [] }, LABELS)).toMatchObject({
      source: 'ai',
      label: 'neutral',
      decidedBy: 'engine-1',
      engineId: 'engine-1',
      confidence: 0.93,
      inputs: [{ annotation_id: 'ai-1', engine_id: 'engine-1', label: 'neutral' }],
    });
    expect(decideFinalLabel(sources({}), LABELS)).toBeNull();
  });

  test('a human tie is unresolved (naming the tied labels), not the first label and not the AI', () => {
    const tie = decideFinalLabel(sources({ human: [human('a', 'negative'), human('b', 'positive')], ai }), LABELS);
    expect(tie).toMatchObject({ status: 'unresolved', label: null, value: null, source: 'consensus', method: 'tie', details: { tied_labels: ['positive', 'negative'] } });
  });

  test('consensus: one annotator, a majority, the latest annotation time, every input', () => {
    expect(decideFinalLabel(sources({ human: [human('a', 'neutral')] }), LABELS)).toMatchObject({ method: 'single', label: 'neutral' });
    const majority = decideFinalLabel(sources({ human: [human('a', 'negative', 3), human('b', 'negative', 9), human('c', 'positive', 5)] }), LABELS)!;
    expect(majority).toMatchObject({ method: 'majority', label: 'negative', decidedAt: at(9), details: { votes: 2, total: 3 } });
    expect(majority.inputs.map((i) => i.annotator_id)).toEqual(['a', 'b', 'c']);
  });

  test('multi-label values decide by their label set, whatever the order', () => {
    const d = decideFinalLabel(sources({ human: [{ ...human('a', 'x'), value: { labels: ['b', 'a'] } }, { ...human('b', 'x'), value: { labels: ['a', 'b'] } }] }), [])!;
    expect(d).toMatchObject({ status: 'labelled', label: 'a|b', method: 'unanimous' });
  });
});
