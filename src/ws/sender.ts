import { WebSocket } from 'ws';
import type { Logger } from '../logger';

/** What a frame is sent to: one connection of the hub. */
export interface FrameTarget {
  id: string;
  ws: WebSocket;
  counters: { out: number };
}

/**
 * The hub's outbound side: frames to one socket, with backpressure (a client whose unsent bytes
 * pass `maxBuffered` is closed 1013 rather than buffered without bound) and batching (frames sent
 * to a socket in the same synchronous run leave in one write).
 */
export class FrameSender {
  private readonly corked = new Map<FrameTarget, { cork(): void; uncork(): void }>();

  constructor(
    private readonly maxBuffered: number,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  send(conn: FrameTarget, frame: string | Buffer): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    if (conn.ws.bufferedAmount > this.maxBuffered) {
      this.logger.warn({ connection_id: conn.id }, 'websocket client too slow; closing');
      conn.ws.close(1013, 'too slow');
      return;
    }
    this.cork(conn);
    // A Buffer is sent as a text frame as it is: one encoding per event, not one per socket.
    conn.ws.send(frame, { binary: false });
    conn.counters.out++;
  }

  reply(conn: FrameTarget, body: Record<string, unknown>, requestId?: string | number): void {
    this.send(conn, JSON.stringify(requestId === undefined ? body : { ...body, request_id: requestId }));
  }

  error(conn: FrameTarget, code: string, message: string, requestId?: string | number, details?: unknown): void {
    this.reply(conn, details === undefined ? { type: 'error', code, message } : { type: 'error', code, message, details }, requestId);
  }

  /** Corks the socket on its first frame of a run and uncorks every corked socket in a microtask after it. */
  private cork(conn: FrameTarget): void {
    if (this.corked.has(conn)) return;
    const socket = (conn.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    if (!socket) return;
    socket.cork();
    this.corked.set(conn, socket);
    if (this.corked.size === 1) {
      queueMicrotask(() => {
        for (const s of this.corked.values()) s.uncork();
        this.corked.clear();
      });
    }
  }
}
