/**
 * Label values for Prometheus series, kept bounded: every distinct value is a series held in
 * memory by this process and by Prometheus, so no label ever carries caller-chosen text.
 */

/** The value a bounded label takes once its budget of distinct values is spent. */
export const OVERFLOW_LABEL = 'other';

/**
 * Engine ids this process labels series with, at most this many distinct ones (engine ids are
 * bounded by rows of `engines`, but a tenant can create rows): later engines count as `other`.
 */
export const MAX_ENGINE_LABELS = 500;

/** Accepts the first `max` distinct values it is asked about; after that, new ones become `other`. */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OVERFLOW_LABEL;
    this.seen.add(v);
    return v;
  }
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Node accepts ~30 methods (PROPFIND, MKCALENDAR, …); the ones the API serves keep their name. */
export function httpMethodLabel(method: string): string {
  return HTTP_METHODS.has(method) ? method : OVERFLOW_LABEL;
}

/**
 * A matched route's template (`/api/v1/projects/:project_id`), never the raw path, so ids and
 * probing paths stay out of the labels.
 */
export function httpRouteLabel(matchedRoute: string | RegExp | undefined): string {
  return matchedRoute ? String(matchedRoute) : 'unmatched';
}
