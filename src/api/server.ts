import crypto from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { errorBody } from './middleware/error-handler';

/**
 * The API's HTTP server: the Koa app plus an answer for requests Node's parser refuses before
 * Koa sees them (a header over the 16 KB limit, e.g. a 200 KB token → 431; bytes that are not
 * HTTP → 400), in the documented error shape instead of a reset connection.
 */
export function createApiServer(app: Koa<any, any>): http.Server {
  const server = http.createServer(app.callback());
  server.on('clientError', answerClientError);
  // CONNECT never reaches Koa (Node hands the socket over for tunnelling): we are no proxy.
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => answer(socket, { status: 405, code: 'METHOD_NOT_ALLOWED', message: 'CONNECT is not allowed: this is not a proxy' }));
  return server;
}

/** Parser error codes and the answer each gets. */
export function clientErrorStatus(code: string | undefined): { status: number; code: string; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'Request headers are too large (a token or cookie over the limit?)' };
  }
  if (code === 'HPE_INVALID_METHOD') return { status: 405, code: 'METHOD_NOT_ALLOWED', message: 'Unknown HTTP method' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'REQUEST_TIMEOUT', message: 'Request timed out' };
  return { status: 400, code: 'BAD_REQUEST', message: 'Malformed HTTP request' };
}

function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // ECONNRESET: the client left; a response already under way cannot be replaced.
  if (err.code === 'ECONNRESET' || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  answer(socket, clientErrorStatus(err.code));
}

/** A whole response written straight to the socket (there is no Koa context here), then close. */
function answer(socket: Duplex, a: { status: number; code: string; message: string }): void {
  const body = JSON.stringify(errorBody(a.code, a.message, [], crypto.randomUUID()));
  const allow = a.status === 405 ? 'Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n' : '';
  socket.end(
    `HTTP/1.1 ${a.status} ${http.STATUS_CODES[a.status]}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${allow}Connection: close\r\n\r\n${body}`,
  );
}
