import { confidenceFromLogprobs, InvalidOutputError, parseModelOutput } from '../../../src/llm/parse';
import type { LabelSchema } from '../../../src/llm/types';

const single: LabelSchema = { type: 'single_label', labels: ['Positive', 'negative', 'neutral'] };
const multi: LabelSchema = { type: 'multi_label', labels: ['billing', 'bug', 'ux'] };

describe('parseModelOutput', () => {
  it('reads plain JSON', () => {
    expect(parseModelOutput('{"label":"negative","confidence":0.82}', single)).toEqual({
      value: { label: 'negative' },
      confidence: 0.82,
    });
  });

  it('reads JSON inside ```json fences and inside prose', () => {
    expect(parseModelOutput('Sure!\n```json\n{"label": "neutral", "confidence": 0.6}\n```\nHope it helps.', single)).toEqual({
      value: { label: 'neutral' },
      confidence: 0.6,
    });
    expect(parseModelOutput('My answer is {"label": "negative", "confidence": "0.7"} because {braces}.', single)).toEqual({
      value: { label: 'negative' },
      confidence: 0.7,
    });
  });

  it('maps labels case-insensitively to the canonical spelling', () => {
    expect(parseModelOutput('{"label":"POSITIVE","confidence":1}', single).value).toEqual({ label: 'Positive' });
    expect(parseModelOutput('  positive. ', single).value).toEqual({ label: 'Positive' });
    expect(parseModelOutput('"Negative"', single).value).toEqual({ label: 'negative' });
    expect(parseModelOutput('Label: neutral', single).value).toEqual({ label: 'neutral' });
  });

  it('clamps confidence to [0,1] and defaults to 0.5', () => {
    expect(parseModelOutput('{"label":"negative","confidence":1.7}', single).confidence).toBe(1);
    expect(parseModelOutput('{"label":"negative","confidence":-2}', single).confidence).toBe(0);
    expect(parseModelOutput('{"label":"negative"}', single).confidence).toBe(0.5);
    expect(parseModelOutput('{"label":"negative","confidence":"high"}', single).confidence).toBe(0.5);
    expect(parseModelOutput('{"label":"negative","confidence":"80%"}', single).confidence).toBe(0.8);
    expect(parseModelOutput('negative', single).confidence).toBe(0.5);
  });

  it('rejects labels outside the set, empty output and non-answers', () => {
    expect(() => parseModelOutput('{"label":"spam","confidence":0.9}', single)).toThrow(InvalidOutputError);
    expect(() => parseModelOutput('{"label":"spam"}', single)).toThrow(/not in the label set/);
    expect(() => parseModelOutput('', single)).toThrow(InvalidOutputError);
    expect(() => parseModelOutput('I cannot help with that.', single)).toThrow(InvalidOutputError);
    expect(() => parseModelOutput('{"labels":["Positive","negative"]}', single)).toThrow(/expected one label/);
  });

  it('reads multi_label answers in several shapes', () => {
    expect(parseModelOutput('{"labels":["Bug","billing","bug"],"confidence":0.4}', multi)).toEqual({
      value: { labels: ['bug', 'billing'] },
      confidence: 0.4,
    });
    expect(parseModelOutput('{"label":"ux"}', multi).value).toEqual({ labels: ['ux'] });
    expect(parseModelOutput('billing, ux', multi).value).toEqual({ labels: ['billing', 'ux'] });
    expect(() => parseModelOutput('{"labels":["billing","refund"]}', multi)).toThrow(InvalidOutputError);
    expect(() => parseModelOutput('{"labels":[]}', multi)).toThrow(/no label/);
  });
});

describe('confidenceFromLogprobs', () => {
  it('is the probability of the tokens spelling the label value', () => {
    const tokens = [
      { token: '{"', logprob: 0 },
      { token: 'label', logprob: 0 },
      { token: '":"', logprob: 0 },
      { token: 'neg', logprob: Math.log(0.8) },
      { token: 'ative', logprob: Math.log(0.9) },
      { token: '"}', logprob: 0 },
    ];
    expect(confidenceFromLogprobs(tokens, 'negative')).toBeCloseTo(0.72, 10);
    expect(confidenceFromLogprobs(tokens, 'positive')).toBeNull();
  });

  it('skips a label used as an object key', () => {
    const tokens = [
      { token: '{"label":"', logprob: 0 },
      { token: 'label', logprob: Math.log(0.5) },
      { token: '"}', logprob: 0 },
    ];
    expect(confidenceFromLogprobs(tokens, 'label')).toBeCloseTo(0.5, 10);
  });
});
