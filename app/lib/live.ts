import type { LiveEvent, ServerFrame } from './types';

export type LiveState = 'connecting' | 'open' | 'closed';
type Handler = (event: LiveEvent) => void;

/**
 * The one WebSocket of the app: subscriptions by project, resumed after a reconnect from the last
 * event id seen (the hub replays what was missed, in order), and presence. Views that need fresh
 * data while it is down fall back to polling (they watch `state`).
 */
export class LiveConnection {
  state: LiveState = 'connecting';
  private socket: WebSocket | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly lastEventId = new Map<string, string>();
  private readonly stateListeners = new Set<(s: LiveState) => void>();
  /** Projects whose subscription the hub acknowledged on this socket (presence needs one). */
  private readonly acked = new Set<string>();
  /** The presence to announce per project, sent once its subscription is acknowledged (and again after a reconnect). */
  private readonly wantedPresence = new Map<string, Record<string, unknown>>();
  private retryMs = 500;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly token: string) {
    this.connect();
  }

  /** Calls `handler` with every event of the project until the returned function is called. */
  subscribe(projectId: string, handler: Handler): () => void {
    let set = this.handlers.get(projectId);
    if (!set) {
      this.handlers.set(projectId, (set = new Set()));
      this.sendSubscribe(projectId);
    }
    set.add(handler);
    return () => {
      set!.delete(handler);
      if (!set!.size) {
        this.handlers.delete(projectId);
        this.acked.delete(projectId);
        this.wantedPresence.delete(projectId);
        this.send({ type: 'unsubscribe_project', project_id: projectId });
      }
    };
  }

  /** Announces where this user is in a subscribed project; held until the hub acknowledged the subscription. */
  presence(projectId: string, itemId: string | undefined, state: 'viewing' | 'editing' | 'idle'): void {
    const message = { type: 'user_presence', project_id: projectId, ...(itemId ? { item_id: itemId } : {}), state };
    this.wantedPresence.set(projectId, message);
    if (this.acked.has(projectId)) this.send(message);
  }

  onState(listener: (s: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close(1000);
  }

  private connect(): void {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // The one place the token goes into a URL: the hub reads it from ?token= (API.md).
    const socket = new WebSocket(`${scheme}//${location.host}/api/v1/annotation/ws?token=${encodeURIComponent(this.token)}`);
    this.socket = socket;
    this.setState('connecting');
    socket.onopen = () => {
      this.retryMs = 500;
      for (const projectId of this.handlers.keys()) this.sendSubscribe(projectId);
      this.setState('open');
    };
    socket.onmessage = (msg) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(msg.data)) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'ack' && frame.for === 'subscribe_project' && typeof frame.project_id === 'string') {
        this.acked.add(frame.project_id);
        const wanted = this.wantedPresence.get(frame.project_id);
        if (wanted) this.send(wanted);
        return;
      }
      if (frame.type !== 'event') return;
      if (frame.id !== null) this.lastEventId.set(frame.project_id, frame.id);
      for (const h of this.handlers.get(frame.project_id) ?? []) h(frame);
    };
    socket.onclose = (ev) => {
      this.socket = null;
      this.acked.clear();
      this.setState('closed');
      // 1008: the token was refused; reconnecting would be refused again.
      if (this.closed || ev.code === 1008) return;
      this.timer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }

  private sendSubscribe(projectId: string): void {
    const last = this.lastEventId.get(projectId);
    this.send({ type: 'subscribe_project', project_id: projectId, ...(last ? { last_event_id: last } : {}) });
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private setState(s: LiveState): void {
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }
}
