/** The category key of an annotation value ({label} or {labels}); null when there is none. */
export function valueCategory(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (typeof value !== 'object') return null;
  const v = value as { label?: unknown; labels?: unknown };
  if (typeof v.label === 'string' || typeof v.label === 'number') return String(v.label);
  if (Array.isArray(v.labels)) return v.labels.map(String).sort().join('|');
  return null;
}
