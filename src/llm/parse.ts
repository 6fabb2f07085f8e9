import { InvalidOutputError } from './errors';
import type { AnnotationValue, LabelSchema } from './types';

export { InvalidOutputError } from './errors';

export interface ParsedOutput {
  value: AnnotationValue;
  confidence: number;
}

/** Confidence when the model gives none. */
export const DEFAULT_CONFIDENCE = 0.5;

/**
 * A model's answer as a value of the project's label schema. Tolerant of the usual ways models
 * wrap JSON (```json fences, prose around it), of a bare label, and of label case; strict about
 * the label set: a label outside it is an InvalidOutputError, never a result. Pure.
 */
export function parseModelOutput(text: string, labelSchema: LabelSchema): ParsedOutput {
  const trimmed = (text ?? '').trim();
  if (!trimmed) throw new InvalidOutputError('empty output');

  for (const candidate of jsonCandidates(trimmed)) {
    let data: unknown;
    try {
      data = JSON.parse(candidate);
    } catch {
      continue;
    }
    if (typeof data === 'string') return fromLabels([data], undefined, labelSchema);
    if (Array.isArray(data) && data.every((x) => typeof x === 'string')) {
      return fromLabels(data as string[], undefined, labelSchema);
    }
    if (data && typeof data === 'object' && !Array.isArray(data)) {
      const obj = data as Record<string, unknown>;
      const labels = labelsOf(obj);
      if (labels !== null) return fromLabels(labels, obj.confidence, labelSchema);
    }
  }

  // No usable JSON: a bare label ("Positive", `positive`, "label: positive."), or for
  // multi_label a comma- or newline-separated list of labels.
  const bare = stripDecoration(trimmed);
  const parts = labelSchema.type === 'multi_label' ? bare.split(/[,\n;]+/).map(stripDecoration).filter(Boolean) : [bare];
  return fromLabels(parts, undefined, labelSchema);
}

function labelsOf(obj: Record<string, unknown>): string[] | null {
  for (const key of ['labels', 'label']) {
    const v = obj[key];
    if (typeof v === 'string') return [v];
    if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  }
  return null;
}

function fromLabels(raw: string[], rawConfidence: unknown, schema: LabelSchema): ParsedOutput {
  const confidence = parseConfidence(rawConfidence);
  const labels: string[] = [];
  for (const r of raw) {
    const canonical = canonicalLabel(r, schema.labels);
    if (canonical === null) throw new InvalidOutputError(`label ${JSON.stringify(truncate(r))} is not in the label set`);
    if (!labels.includes(canonical)) labels.push(canonical);
  }
  if (labels.length === 0) throw new InvalidOutputError('no label in output');
  if (schema.type === 'multi_label') return { value: { labels }, confidence };
  if (labels.length > 1) throw new InvalidOutputError(`expected one label, got ${labels.length}`);
  return { value: { label: labels[0] }, confidence };
}

/** The label as spelled in the label set (exact, then case-insensitive), or null. */
export function canonicalLabel(raw: string, labels: string[]): string | null {
  const s = raw.trim();
  if (labels.includes(s)) return s;
  const lower = s.toLowerCase();
  return labels.find((l) => l.toLowerCase() === lower) ?? null;
}

/** A number (or numeric string) clamped to [0, 1]; DEFAULT_CONFIDENCE when absent or not a number. */
export function parseConfidence(raw: unknown): number {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && raw.trim() !== '') {
    const s = raw.trim();
    n = s.endsWith('%') ? Number(s.slice(0, -1)) / 100 : Number(s);
  } else return DEFAULT_CONFIDENCE;
  if (!Number.isFinite(n)) return DEFAULT_CONFIDENCE;
  return Math.min(1, Math.max(0, n));
}

/** Strings that may hold the JSON answer, most specific first. */
function jsonCandidates(text: string): string[] {
  const out: string[] = [];
  const fence = /```[a-zA-Z]*\s*\n?([\s\S]*?)```/g;
  for (let m = fence.exec(text); m; m = fence.exec(text)) out.push(m[1].trim());
  out.push(text);
  out.push(...balancedObjects(text));
  return out;
}

/** Every top-level `{...}` span in prose, respecting JSON strings. */
function balancedObjects(text: string): string[] {
  const spans: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"' && depth > 0) inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) spans.push(text.slice(start, i + 1));
    }
  }
  return spans;
}

function stripDecoration(s: string): string {
  return s
    .trim()
    .replace(/^(?:final\s+)?(?:answer|label|labels)\s*[:=-]\s*/i, '')
    .replace(/^["'`*\s]+|["'`*.!\s]+$/g, '')
    .trim();
}

function truncate(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/**
 * A confidence from token log-probabilities (OpenAI `choices[0].logprobs.content`): the
 * probability of the tokens that spell the chosen label as a JSON string value, i.e. exp of the
 * sum of the logprobs of every token overlapping it. Null when the label cannot be located.
 */
export function confidenceFromLogprobs(tokens: { token: string; logprob: number }[], label: string): number | null {
  if (!tokens.length || !label) return null;
  const full = tokens.map((t) => t.token).join('');
  const quoted = JSON.stringify(label);
  let at = full.indexOf(quoted);
  // Skip occurrences used as an object key ("label": ...).
  while (at >= 0 && /^\s*:/.test(full.slice(at + quoted.length))) at = full.indexOf(quoted, at + 1);
  if (at < 0) return null;
  const from = at + 1;
  const to = at + quoted.length - 1;
  let offset = 0;
  let sum = 0;
  for (const t of tokens) {
    const start = offset;
    offset += t.token.length;
    if (offset > from && start < to) sum += t.logprob;
  }
  return Math.min(1, Math.max(0, Math.exp(sum)));
}
