import net from 'node:net';

/**
 * TEMPORAL_METRICS_BIND: where the Temporal SDK's core (the Rust side of the worker) serves its
 * own metrics in Prometheus format — task slots, pollers, schedule-to-start latencies. The core
 * binds it itself, so it takes a socket address (an IP literal and a port), never a host name.
 */

/** The port beside the worker's own /metrics (WORKER_METRICS_PORT, 9464). */
export const DEFAULT_TEMPORAL_METRICS_PORT = 9465;

export type MetricsBind = { ok: true; address: string | undefined } | { ok: false; problem: string };

/**
 * The address to bind, from the setting and HOST. Unset: HOST's address on the default port
 * (`localhost` → 127.0.0.1, any other name → every interface). `off`: no exporter.
 */
export function temporalMetricsBind(value: string | undefined, host: string): MetricsBind {
  if (value === undefined) return { ok: true, address: joinHostPort(defaultBindHost(host), DEFAULT_TEMPORAL_METRICS_PORT) };
  if (value.toLowerCase() === 'off') return { ok: true, address: undefined };
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(value);
  const ip = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  const family = ip === undefined ? 0 : net.isIP(ip);
  if (!m || family === 0 || (m[1] !== undefined) !== (family === 6) || port < 1 || port > 65535) {
    return { ok: false, problem: 'must be an IP and a port (0.0.0.0:9465, 127.0.0.1:9465, [::]:9465) or off' };
  }
  return { ok: true, address: value };
}

function defaultBindHost(host: string): string {
  if (net.isIP(host)) return host;
  return host === 'localhost' ? '127.0.0.1' : '0.0.0.0';
}

function joinHostPort(ip: string, port: number): string {
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}
