import WebSocket from 'ws';

export interface WsMessage {
  type: string;
  [k: string]: any;
}

/** A real `ws` client that keeps every message and lets a test wait for the ones it expects. */
export class TestWsClient {
  readonly messages: WsMessage[] = [];
  private waiters: { pred: (m: WsMessage) => boolean; resolve: (m: WsMessage) => void }[] = [];
  closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as WsMessage;
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(baseUrl: string, token?: string, path = '/api/v1/annotation/ws', opts: WebSocket.ClientOptions = {}): Promise<TestWsClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}${path}${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;
    const ws = new WebSocket(url, opts);
    const client = new TestWsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(msg: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** The first message (already received or coming) matching `pred`. */
  waitFor(pred: (m: WsMessage) => boolean, timeoutMs = 10_000, what = 'message'): Promise<WsMessage> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return this.next(pred, timeoutMs, what);
  }

  /** The next message from now on matching `pred`. */
  next(pred: (m: WsMessage) => boolean, timeoutMs = 10_000, what = 'message'): Promise<WsMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Sends subscribe_project and waits for its ack (or error). */
  async subscribe(projectId: string, lastEventId?: string): Promise<WsMessage> {
    const request_id = `sub-${projectId}-${Math.random()}`;
    this.send({ type: 'subscribe_project', project_id: projectId, request_id, ...(lastEventId ? { last_event_id: lastEventId } : {}) });
    return this.next((m) => m.request_id === request_id, 10_000, 'subscribe reply');
  }

  events(projectId?: string): WsMessage[] {
    return this.messages.filter((m) => m.type === 'event' && m.event !== 'presence.update' && (!projectId || m.project_id === projectId));
  }

  /** Waits until `n` outbox events (presence excluded) have arrived. */
  async waitForEvents(n: number, timeoutMs = 15_000): Promise<WsMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events().length < n) {
      if (Date.now() > deadline) throw new Error(`timed out: ${this.events().length}/${n} events`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.events();
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}
