import crypto from 'node:crypto';
import { canonicalLabel } from './parse';
import { valueLabels } from './prompt';
import type { AnnotationValue, LabelSchema, LabelledExample, ProjectContext } from './types';

/**
 * The built-in `local` engine: multinomial naive Bayes, deterministic and offline. It learns
 * from each label's name (a pseudo-document), guideline lines that mention a label (evidence for
 * that label) and the project's gold examples. Pure: no I/O, no clock, no randomness.
 */

export const LOCAL_MODEL_NAME = 'naive-bayes-v1';

const STOPWORDS = new Set(
  (
    'a an the and or but if of to in on at by for with from as is are was were be been being am ' +
    'it its this that these those i me my we our you your he she him her they them their ' +
    'do does did so than then there here what which who whom when where how about into over ' +
    'just also very can will would should could has have had s t'
  ).split(' '),
);

/**
 * Lowercased unicode words (letters, marks and digits), stopwords removed, with English plurals
 * folded conservatively ("elections" → "election", "stories" → "story"; "class", "bus" kept).
 */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().normalize('NFKC').split(/[^\p{L}\p{M}\p{N}]+/u)) {
    if (raw && !STOPWORDS.has(raw)) out.push(foldPlural(raw));
  }
  return out;
}

function foldPlural(word: string): string {
  if (word.length < 4 || !/^[a-z]+$/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(?:ss|us|is|ous)$/.test(word) || !word.endsWith('s')) return word;
  return word.slice(0, -1);
}

export interface TrainingInput {
  labelSchema: LabelSchema;
  guidelines?: string | null;
  examples?: LabelledExample[];
}

export interface LocalPrediction {
  value: AnnotationValue;
  confidence: number;
  /** Posterior per label (multi-class view; sums to 1), in label-set order. */
  posteriors: Record<string, number>;
}

/** Laplace smoothing constant. */
const ALPHA = 1;

export class NaiveBayesModel {
  private readonly labels: string[];
  private readonly multi: boolean;
  /** Per label: token → count, total tokens, number of example documents. */
  private readonly counts: Map<string, number>[];
  private readonly totals: number[];
  private readonly docs: number[];
  private readonly vocabulary = new Set<string>();
  /** Counts over all training documents, each once: "not label" is this minus the label's. */
  private readonly allCounts = new Map<string, number>();
  private allTotal = 0;
  private exampleDocs = 0;

  constructor(input: TrainingInput) {
    this.labels = [...input.labelSchema.labels];
    if (this.labels.length === 0) throw new Error('the label set is empty');
    this.multi = input.labelSchema.type === 'multi_label';
    this.counts = this.labels.map(() => new Map());
    this.totals = this.labels.map(() => 0);
    this.docs = this.labels.map(() => 0);

    this.labels.forEach((label, i) => this.addDocument([i], tokenize(label.replace(/[_-]+/g, ' '))));
    for (const [i, text] of guidelineEvidence(input.guidelines ?? '', this.labels)) this.addDocument([i], tokenize(text));
    for (const example of input.examples ?? []) {
      const indices = new Set<number>();
      for (const raw of valueLabels(example.value)) {
        const label = canonicalLabel(raw, this.labels);
        if (label !== null) indices.add(this.labels.indexOf(label));
      }
      if (indices.size === 0) continue;
      for (const i of indices) this.docs[i]++;
      this.exampleDocs++;
      this.addDocument([...indices], tokenize(example.text ?? ''));
    }
  }

  /** One training document with its labels (once each); `allCounts` counts it once. */
  private addDocument(indices: number[], tokens: string[]): void {
    for (const t of tokens) {
      this.allCounts.set(t, (this.allCounts.get(t) ?? 0) + 1);
      this.vocabulary.add(t);
    }
    this.allTotal += tokens.length;
    for (const i of indices) {
      const counts = this.counts[i];
      for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
      this.totals[i] += tokens.length;
    }
  }

  /** Log joint score per label: log prior + sum of log likelihoods of the known tokens. */
  private logScores(tokens: string[]): number[] {
    const v = this.vocabulary.size;
    const n = this.docs.reduce((a, b) => a + b, 0);
    const k = this.labels.length;
    return this.labels.map((_, i) => {
      let score = Math.log((this.docs[i] + ALPHA) / (n + ALPHA * k));
      const denominator = Math.log(this.totals[i] + ALPHA * v);
      for (const t of tokens) {
        if (!this.vocabulary.has(t)) continue;
        score += Math.log((this.counts[i].get(t) ?? 0) + ALPHA) - denominator;
      }
      return score;
    });
  }

  /**
   * P(label | text) in a one-vs-rest (binary relevance) view: documents with the label versus
   * documents without it.
   */
  private oneVsRest(i: number, tokens: string[]): number {
    const v = this.vocabulary.size;
    const n = this.exampleDocs;
    const restDocs = n - this.docs[i];
    const restTotal = this.allTotal - this.totals[i];
    let inScore = Math.log((this.docs[i] + ALPHA) / (n + 2 * ALPHA));
    let outScore = Math.log((restDocs + ALPHA) / (n + 2 * ALPHA));
    const inDen = Math.log(this.totals[i] + ALPHA * v);
    const outDen = Math.log(restTotal + ALPHA * v);
    for (const t of tokens) {
      if (!this.vocabulary.has(t)) continue;
      const c = this.counts[i].get(t) ?? 0;
      inScore += Math.log(c + ALPHA) - inDen;
      outScore += Math.log((this.allCounts.get(t) ?? 0) - c + ALPHA) - outDen;
    }
    return 1 / (1 + Math.exp(outScore - inScore));
  }

  predict(text: string): LocalPrediction {
    const tokens = tokenize(text);
    const posteriors = softmax(this.logScores(tokens));
    // Highest posterior; ties go to the earlier label in the label set.
    let top = 0;
    for (let i = 1; i < posteriors.length; i++) if (posteriors[i] > posteriors[top]) top = i;
    const byLabel = Object.fromEntries(this.labels.map((l, i) => [l, posteriors[i]]));
    if (!this.multi) return { value: { label: this.labels[top] }, confidence: posteriors[top], posteriors: byLabel };

    const chosen: string[] = [];
    let confidence = 1;
    this.labels.forEach((label, i) => {
      const p = this.oneVsRest(i, tokens);
      if (p >= 0.5 || i === top) {
        chosen.push(label);
        confidence = Math.min(confidence, p);
      }
    });
    return { value: { labels: chosen }, confidence, posteriors: byLabel };
  }
}

/**
 * Guideline text that speaks about one label, as [label index, text]. Each line is split into
 * sentences (at . ; ! ?); a sentence naming one label is evidence for it; a sentence naming
 * several is cut at each mention, the text from a mention up to the next one going to that
 * label ("use positive for praise and negative for complaints").
 */
function guidelineEvidence(guidelines: string, labels: string[]): [number, string][] {
  const out: [number, string][] = [];
  const patterns = labels.map(
    (l) => new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(l.toLowerCase())}(?![\\p{L}\\p{N}])`, 'gu'),
  );
  for (const sentence of guidelines.split(/[\r\n.;!?]+/)) {
    const lower = sentence.toLowerCase();
    const mentions: { at: number; end: number; label: number }[] = [];
    patterns.forEach((p, label) => {
      p.lastIndex = 0;
      for (let m = p.exec(lower); m; m = p.exec(lower)) mentions.push({ at: m.index, end: m.index + m[0].length, label });
    });
    const distinct = new Set(mentions.map((m) => m.label));
    if (distinct.size === 0) continue;
    if (distinct.size === 1) {
      out.push([mentions[0].label, sentence]);
      continue;
    }
    mentions.sort((a, b) => a.at - b.at || b.end - a.end);
    mentions.forEach((m, j) => {
      const next = mentions.slice(j + 1).find((n) => n.at >= m.end);
      out.push([m.label, sentence.slice(m.at, next ? next.at : sentence.length)]);
    });
  }
  return out;
}

function softmax(scores: number[]): number[] {
  const max = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A small LRU of trained models, keyed by a fingerprint of what they were trained on. */
class ModelCache {
  private readonly entries = new Map<string, NaiveBayesModel>();
  constructor(private readonly capacity: number) {}

  get(key: string): NaiveBayesModel | undefined {
    const model = this.entries.get(key);
    if (model) {
      this.entries.delete(key);
      this.entries.set(key, model);
    }
    return model;
  }

  set(key: string, model: NaiveBayesModel): void {
    this.entries.delete(key);
    this.entries.set(key, model);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

export const LOCAL_MODEL_CACHE_SIZE = 64;
const cache = new ModelCache(LOCAL_MODEL_CACHE_SIZE);

export function trainingFingerprint(input: TrainingInput): string {
  return crypto
    .createHash('sha256')
    .update(
      JSON.stringify([
        input.labelSchema.type,
        input.labelSchema.labels,
        input.guidelines ?? '',
        (input.examples ?? []).map((e) => [e.text, valueLabels(e.value)]),
      ]),
    )
    .digest('hex');
}

/** The trained model for a project's current labels, guidelines and examples (cached). */
export function localModelFor(input: TrainingInput): NaiveBayesModel {
  const key = trainingFingerprint(input);
  let model = cache.get(key);
  if (!model) {
    model = new NaiveBayesModel(input);
    cache.set(key, model);
  }
  return model;
}

/** Classify one text for a project with the local engine. */
export function classifyLocal(project: ProjectContext, text: string): LocalPrediction {
  return localModelFor({ labelSchema: project.labelSchema, guidelines: project.guidelines, examples: project.examples }).predict(text);
}

export function localModelCacheSize(): number {
  return cache.size;
}

export function clearLocalModelCache(): void {
  cache.clear();
}
