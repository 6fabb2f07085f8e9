import crypto from 'node:crypto';

/**
 * Whether an `Authorization` header carries the metrics token. No token configured: every
 * caller may scrape. Compared in constant time over SHA-256 digests (equal lengths whatever the
 * guess), so the comparison tells nothing about the token's length or prefix.
 */
export function metricsScrapeAllowed(authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  if (!m) return false;
  return crypto.timingSafeEqual(digest(m[1]), digest(token));
}

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s, 'utf8').digest();
}

/** Sent with every 401 of a metrics endpoint (RFC 6750). */
export const METRICS_CHALLENGE = 'Bearer realm="metrics"';

/** Said once at start by `anno api` and `anno worker` in production when the metrics are open. */
export function openMetricsWarning(config: { NODE_ENV: string; METRICS_TOKEN?: string }): string | undefined {
  if (config.NODE_ENV !== 'production' || config.METRICS_TOKEN) return undefined;
  return 'METRICS_TOKEN is unset: GET /metrics is open to anyone who can reach this port; set it and give Prometheus the token';
}
