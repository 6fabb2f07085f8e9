import { groupRatings } from './group';
import { tieRanks } from './majority-vote';
import type { LabelOrder, Rating } from './types';

/**
 * Dawid–Skene EM (Dawid & Skene 1979, "Maximum likelihood estimation of observer error-rates
 * using the EM algorithm", Applied Statistics 28(1):20–28).
 *
 * Model: item i has a hidden true class with prior p_k; annotator a reports label l for true
 * class k with probability π_a[k][l]. EM alternates
 *   M-step  p_k = Σ_i T_ik / I,   π_a[k][l] = Σ_{i rated l by a} T_ik / Σ_{i rated by a} T_ik
 *   E-step  T_ik ∝ p_k Π_{(a,l) on i} π_a[k][l]     (in log space, normalised by log-sum-exp)
 * starting, as Dawid & Skene do, from the (soft) majority vote: T_ik = share of item i's votes for k.
 * Starting from majority vote also fixes the labelling of the latent classes (EM is otherwise
 * symmetric under permuting them), as long as the honest annotators are the majority.
 *
 * A pseudo-count `smoothing` is added to every prior and confusion-matrix cell so that no
 * probability is exactly 0 (an unseen (class, label) pair would otherwise veto a class forever).
 * Stops when no posterior moves by more than `tolerance` (`converged: true`), or after
 * `maxIterations` (`converged: false`: the estimates are not a fixed point and callers must not
 * decide with them; automatic conflict resolution does not).
 * Deterministic: no randomness, fixed iteration order; the same input gives the same output.
 * Cost per iteration O(ratings × k + annotators × k²); memory O(items × k + annotators × k²).
 */
export const DS_MAX_ITERATIONS = 1000;

export interface DawidSkeneOptions {
  labels?: LabelOrder;
  /** Default 1000 (EM's linear convergence needed more than 100 on 6-label projects). */
  maxIterations?: number;
  /** Largest allowed change of any posterior between iterations at convergence; default 1e-6. */
  tolerance?: number;
  /** Pseudo-count added to each prior and confusion cell; default 0.01 (0 gives the classic unsmoothed estimates). */
  smoothing?: number;
}

export interface DawidSkeneItem {
  itemId: string;
  /** Most probable class; ties go to the earlier label in the label order. */
  label: string;
  /** P(true class = categories[k] | ratings). */
  posterior: number[];
}

export interface DawidSkeneResult {
  /** Category order of every vector and matrix here (the label order, then unseen values). */
  categories: string[];
  items: DawidSkeneItem[];
  classPriors: number[];
  /** matrix[k][l] = P(annotator says categories[l] | true class categories[k]); rows sum to 1. */
  confusion: { annotatorId: string; matrix: number[][] }[];
  iterations: number;
  converged: boolean;
  /** log P(ratings | parameters) at the last E-step. */
  logLikelihood: number;
}

export function dawidSkene(ratings: readonly Rating[], options: DawidSkeneOptions = {}): DawidSkeneResult {
  const maxIterations = options.maxIterations ?? DS_MAX_ITERATIONS;
  const tolerance = options.tolerance ?? 1e-6;
  const smoothing = options.smoothing ?? 0.01;
  if (!(maxIterations >= 1)) throw new Error('maxIterations must be at least 1');
  if (!(tolerance >= 0)) throw new Error('tolerance must be non-negative');
  if (!(smoothing >= 0)) throw new Error('smoothing must be non-negative');

  const g = groupRatings(ratings, options.labels ?? []);
  const K = g.categories.length;
  const I = g.itemIds.length;
  const A = g.annotatorIds.length;

  // Initial posteriors: soft majority vote.
  const T = new Float64Array(I * K);
  for (let i = 0; i < I; i++) {
    const m = g.itemStart[i + 1] - g.itemStart[i];
    for (let p = g.itemStart[i]; p < g.itemStart[i + 1]; p++) T[i * K + g.category[p]] += 1 / m;
  }

  const priors = new Float64Array(K);
  const logPriors = new Float64Array(K);
  const counts = new Float64Array(A * K * K); // [a][k][l]
  const logConf = new Float64Array(A * K * K);
  const scores = new Float64Array(K);
  let iterations = 0;
  let converged = false;
  let logLikelihood = 0;

  while (iterations < maxIterations && !converged) {
    iterations++;

    // M-step.
    priors.fill(smoothing);
    for (let i = 0; i < I; i++) for (let k = 0; k < K; k++) priors[k] += T[i * K + k];
    const priorTotal = I + K * smoothing;
    for (let k = 0; k < K; k++) {
      priors[k] /= priorTotal;
      logPriors[k] = Math.log(priors[k]);
    }
    counts.fill(smoothing);
    for (let i = 0; i < I; i++) {
      for (let p = g.itemStart[i]; p < g.itemStart[i + 1]; p++) {
        const base = g.annotator[p] * K * K + g.category[p];
        for (let k = 0; k < K; k++) counts[base + k * K] += T[i * K + k];
      }
    }
    for (let row = 0; row < A * K; row++) {
      let sum = 0;
      for (let l = 0; l < K; l++) sum += counts[row * K + l];
      // Without smoothing an annotator may have no mass on a class: no evidence, so a uniform row.
      for (let l = 0; l < K; l++) logConf[row * K + l] = sum > 0 ? Math.log(counts[row * K + l] / sum) : -Math.log(K);
    }

    // E-step.
    let maxDelta = 0;
    logLikelihood = 0;
    for (let i = 0; i < I; i++) {
      for (let k = 0; k < K; k++) scores[k] = logPriors[k];
      for (let p = g.itemStart[i]; p < g.itemStart[i + 1]; p++) {
        const base = g.annotator[p] * K * K + g.category[p];
        for (let k = 0; k < K; k++) scores[k] += logConf[base + k * K];
      }
      let max = -Infinity;
      for (let k = 0; k < K; k++) if (scores[k] > max) max = scores[k];
      // Only reachable with smoothing 0: every class has probability 0. Keep the item's posterior.
      if (max === -Infinity) continue;
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(scores[k] - max);
      const logZ = max + Math.log(sum);
      logLikelihood += logZ;
      for (let k = 0; k < K; k++) {
        const t = Math.exp(scores[k] - logZ);
        const delta = Math.abs(t - T[i * K + k]);
        if (delta > maxDelta) maxDelta = delta;
        T[i * K + k] = t;
      }
    }
    if (maxDelta <= tolerance) converged = true;
  }

  const rank = tieRanks(g);
  const items: DawidSkeneItem[] = [];
  for (let i = 0; i < I; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) {
      const t = T[i * K + k];
      const b = T[i * K + best];
      if (t > b || (t === b && rank[k] < rank[best])) best = k;
    }
    items.push({ itemId: g.itemIds[i], label: g.categories[best], posterior: Array.from(T.subarray(i * K, (i + 1) * K)) });
  }

  const confusion = g.annotatorIds.map((annotatorId, a) => {
    const matrix: number[][] = [];
    for (let k = 0; k < K; k++) {
      const row = Array.from(logConf.subarray((a * K + k) * K, (a * K + k + 1) * K), Math.exp);
      matrix.push(row);
    }
    return { annotatorId, matrix };
  });

  return { categories: g.categories, items, classPriors: Array.from(priors), confusion, iterations, converged, logLikelihood };
}
