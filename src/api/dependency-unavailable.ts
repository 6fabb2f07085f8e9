/**
 * Pure classification (no I/O): is this error "a dependency is down" rather than a bug? Such a
 * failure is the client's 503 with Retry-After (try again shortly), never a 500.
 */
export type Dependency = 'database' | 'temporal';

/** Seconds a client is told to wait when a dependency is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);
/** PostgreSQL SQLSTATEs for a server going away, starting up or out of connections. */
const PG_UNAVAILABLE = /^(08...|57P0[1-3]|53300)$/;
/** node-postgres' own messages for a connection that died under it. */
const PG_CONNECTION_MESSAGES = /Connection terminated|connection error and is not queryable|Client was closed|timeout exceeded when trying to connect/i;
/** gRPC status codes: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED. */
const GRPC_UNAVAILABLE = new Set([4, 14]);

interface ErrorLike {
  name?: string;
  code?: unknown;
  message?: string;
  cause?: unknown;
  errors?: unknown;
}

/** Which dependency `err` says is down (following `cause` and AggregateError lists), or null. */
export function unavailableDependency(err: unknown, depth = 0): Dependency | null {
  if (!err || typeof err !== 'object' || depth > 8) return null;
  const e = err as ErrorLike;
  if (e.name === 'ServiceError' || e.name === 'TransportError' || e.name === 'GrpcError') {
    const grpc = (e.cause as ErrorLike | undefined)?.code ?? e.code;
    if (typeof grpc === 'number' && GRPC_UNAVAILABLE.has(grpc)) return 'temporal';
    if (e.name !== 'ServiceError') return 'temporal';
  }
  if (e.name === 'KnexTimeoutError') return 'database';
  if (typeof e.code === 'string' && (PG_UNAVAILABLE.test(e.code) || SOCKET_CODES.has(e.code))) return 'database';
  if (typeof e.message === 'string' && PG_CONNECTION_MESSAGES.test(e.message)) return 'database';
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = unavailableDependency(inner, depth + 1);
      if (found) return found;
    }
  }
  return unavailableDependency(e.cause, depth + 1);
}
