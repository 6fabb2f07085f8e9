import { dawidSkene, majorityVote, type Rating } from '../../../src/quality';
import { fromItemRows, mulberry32 } from './helpers';

/**
 * Synthetic crowd (seeded, so deterministic): 600 items, true classes cat/dog/bird with priors
 * 0.5/0.3/0.2; three honest annotators with accuracy 0.8, 0.7, 0.65 (errors spread evenly) and one
 * adversarial annotator who, 95% of the time, reports the "next" class (cat→dog, dog→bird, bird→cat).
 * Majority vote is dragged down by the adversary; Dawid–Skene learns the adversary's confusion
 * matrix and turns the systematic lie into information.
 */
const labels = ['cat', 'dog', 'bird'];
function crowd(): { ratings: Rating[]; truth: string[] } {
  const rnd = mulberry32(42);
  const truth: string[] = [];
  const ratings: Rating[] = [];
  const honest: [string, number][] = [['h1', 0.8], ['h2', 0.7], ['h3', 0.65]];
  for (let i = 0; i < 600; i++) {
    const u = rnd();
    const t = u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
    truth.push(labels[t]);
    for (const [annotatorId, accuracy] of honest) {
      const v = rnd() < accuracy ? t : (t + 1 + Math.floor(rnd() * 2)) % 3;
      ratings.push({ itemId: `i${i}`, annotatorId, value: labels[v] });
    }
    ratings.push({ itemId: `i${i}`, annotatorId: 'adv', value: labels[rnd() < 0.95 ? (t + 1) % 3 : t] });
  }
  return { ratings, truth };
}

describe('Dawid–Skene', () => {
  const { ratings, truth } = crowd();
  const result = dawidSkene(ratings, { labels });

  it('recovers the adversarial annotator as a permutation in its confusion matrix', () => {
    const adv = result.confusion.find((c) => c.annotatorId === 'adv')!.matrix;
    for (let k = 0; k < 3; k++) {
      expect(adv[k][(k + 1) % 3]).toBeGreaterThan(0.85); // true k → reports k+1
      expect(adv[k][k]).toBeLessThan(0.15);
    }
    const h1 = result.confusion.find((c) => c.annotatorId === 'h1')!.matrix;
    for (let k = 0; k < 3; k++) expect(h1[k][k]).toBeGreaterThan(0.7);
    for (const { matrix } of result.confusion) for (const row of matrix) expect(row.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 10);
  });

  it('labels beat majority vote', () => {
    const mv = majorityVote(ratings, labels);
    const dsCorrect = result.items.filter((it, i) => it.label === truth[i]).length / truth.length;
    const mvCorrect = result.items.filter((it, i) => mv.get(it.itemId)!.label === truth[i]).length / truth.length;
    expect(dsCorrect).toBeGreaterThan(0.93);
    expect(dsCorrect).toBeGreaterThan(mvCorrect + 0.1);
  });

  it('estimates class priors and returns normalised posteriors', () => {
    const empirical = labels.map((l) => truth.filter((t) => t === l).length / truth.length);
    result.classPriors.forEach((p, k) => expect(Math.abs(p - empirical[k])).toBeLessThan(0.05));
    expect(result.classPriors.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 10);
    for (const it of result.items) {
      expect(it.posterior.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 10);
      expect(it.label).toBe(labels[it.posterior.indexOf(Math.max(...it.posterior))]);
    }
    expect(result.categories).toEqual(labels);
    expect(result.converged).toBe(true);
    expect(Number.isFinite(result.logLikelihood)).toBe(true);
  });

  it('is deterministic and honours maxIterations', () => {
    expect(dawidSkene(ratings, { labels })).toEqual(result);
    const once = dawidSkene(ratings, { labels, maxIterations: 1 });
    expect(once.iterations).toBe(1);
    expect(once.converged).toBe(false);
  });

  it('works without smoothing (classic estimates) and stays finite', () => {
    const classic = dawidSkene(ratings, { labels, smoothing: 0 });
    for (const it of classic.items) for (const p of it.posterior) expect(Number.isFinite(p)).toBe(true);
    const correct = classic.items.filter((it, i) => it.label === truth[i]).length / truth.length;
    expect(correct).toBeGreaterThan(0.93);
  });

  it('agrees with majority vote on unanimous items', () => {
    const r = dawidSkene(fromItemRows([['a', 'a', 'a'], ['b', 'b', 'b'], ['a', 'a', 'b']]), { labels: ['a', 'b'] });
    expect(r.items.map((it) => it.label)).toEqual(['a', 'b', 'a']);
  });

  it('rejects bad parameters', () => {
    expect(() => dawidSkene(ratings, { maxIterations: 0 })).toThrow(/maxIterations/);
    expect(() => dawidSkene(ratings, { tolerance: -1 })).toThrow(/tolerance/);
    expect(() => dawidSkene(ratings, { smoothing: -1 })).toThrow(/smoothing/);
  });
});
