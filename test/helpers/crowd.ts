import type { Rating } from '../../src/quality';
import { mulberry32 } from '../unit/quality/helpers';

/**
 * A generated crowd with known truth (seeded, so every run gives the same data): items with a
 * true label drawn from `priors`, each rated by `perItem` distinct annotators drawn from the pool.
 * - honest: right with probability `accuracy`, else a uniformly chosen wrong label;
 * - adversary: with probability `rate` the "next" label (truth k → k+1), else the truth;
 * - spammer: a uniformly random label, whatever the truth.
 */
export type AnnotatorSpec = { id: string; kind: 'honest'; accuracy: number } | { id: string; kind: 'adversary'; rate: number } | { id: string; kind: 'spammer' };

export interface CrowdSpec {
  seed: number;
  labels: string[];
  /** Class priors in label order (default uniform). */
  priors?: number[];
  items: number;
  perItem: number;
  annotators: AnnotatorSpec[];
}

export interface Crowd {
  ratings: Rating[];
  truth: Map<string, string>;
  /** Ratings by item, in item order. */
  byItem: Map<string, Rating[]>;
}

export function generateCrowd(spec: CrowdSpec): Crowd {
  const rnd = mulberry32(spec.seed);
  const K = spec.labels.length;
  const priors = spec.priors ?? spec.labels.map(() => 1 / K);
  const pick = (n: number) => Math.min(n - 1, Math.floor(rnd() * n));
  const ratings: Rating[] = [];
  const truth = new Map<string, string>();
  const byItem = new Map<string, Rating[]>();
  for (let i = 0; i < spec.items; i++) {
    const itemId = `item-${i}`;
    let u = rnd();
    let t = 0;
    while (t < K - 1 && u >= priors[t]) u -= priors[t++];
    truth.set(itemId, spec.labels[t]);
    const pool = [...spec.annotators];
    const rated: Rating[] = [];
    for (let j = 0; j < spec.perItem && pool.length; j++) {
      const a = pool.splice(pick(pool.length), 1)[0];
      let v: number;
      if (a.kind === 'honest') v = rnd() < a.accuracy ? t : (t + 1 + pick(K - 1)) % K;
      else if (a.kind === 'adversary') v = rnd() < a.rate ? (t + 1) % K : t;
      else v = pick(K);
      rated.push({ itemId, annotatorId: a.id, value: spec.labels[v] });
    }
    ratings.push(...rated);
    byItem.set(itemId, rated);
  }
  return { ratings, truth, byItem };
}

export const honest = (id: string, accuracy: number): AnnotatorSpec => ({ id, kind: 'honest', accuracy });
export const adversary = (id: string, rate = 0.9): AnnotatorSpec => ({ id, kind: 'adversary', rate });
export const spammer = (id: string): AnnotatorSpec => ({ id, kind: 'spammer' });
