import type { AnnotationValue } from './types';

export function valueText(v: unknown): string {
  if (v && typeof v === 'object') {
    if ('label' in v && typeof (v as { label: unknown }).label === 'string') return (v as { label: string }).label;
    if ('labels' in v && Array.isArray((v as { labels: unknown }).labels)) return ((v as { labels: string[] }).labels).join(', ') || '(none)';
  }
  return v === null || v === undefined ? '(no label)' : JSON.stringify(v);
}

export function sameValue(a: AnnotationValue | null | undefined, b: AnnotationValue | null | undefined): boolean {
  if (!a || !b) return false;
  if ('label' in a && 'label' in b) return a.label === b.label;
  if ('labels' in a && 'labels' in b) return [...a.labels].sort().join('\u0000') === [...b.labels].sort().join('\u0000');
  return false;
}

/** "in 3 h 12 min", "overdue by 4 min 2 s". */
export function countdown(dueAt: string | null, now: number): { text: string; overdue: boolean; soon: boolean } {
  if (!dueAt) return { text: 'no deadline', overdue: false, soon: false };
  const ms = new Date(dueAt).getTime() - now;
  const span = duration(Math.abs(ms));
  return ms < 0 ? { text: `overdue by ${span}`, overdue: true, soon: false } : { text: `due in ${span}`, overdue: false, soon: ms < DUE_SOON_MS };
}

/** A task due within this is "due soon". */
export const DUE_SOON_MS = 60 * 60 * 1000;

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${sec} s`;
  return `${sec} s`;
}

export const pct = (x: number | null | undefined, digits = 0) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)} %`);
export const num = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '—' : x.toFixed(digits));
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
export const short = (id: string) => id.slice(0, 8);
