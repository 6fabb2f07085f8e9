import crypto from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { ApiDeps } from '../api/deps';
import { ApiError } from '../api/errors';
import { API_PREFIX } from '../api/openapi';
import { Principal, canAccessProject, createTokenVerifier, type TokenVerifier } from '../auth/jwt';
import { metrics } from '../metrics';
import { ClientMessage, parseClientMessage, type HandledType, type PresencePayload, presenceFrame } from './messages';
import { parsePresenceNotice, PresenceRoster, type PresenceNotice } from './presence';
import { FrameSender } from './sender';
import { checkUpgrade } from './upgrade';
import { EventRelay, type RelayOptions } from './relay';
import { ProjectSubscriptions, projectKey as key, type Subscription as ProjectSubscription } from './subscriptions';
import { UUID_PATTERN } from '../formats';

/*
 * The WebSocket contract is API.md's; where it is silent the hub does this:
 * - Every client message may carry `request_id`; replies to it echo it.
 * - `subscribe_project` is answered `{"type":"ack","for":"subscribe_project","project_id","replay_to"}`
 *   (or an `error`), then the project's current presence, then the replayed events, then live ones.
 *   `unsubscribe_project` and `user_presence` (when it has a request_id) are acked the same way.
 * - `suggestion_feedback` / `review_decision` go to the handler set with `setHandler` and are
 *   answered `{"type":"ack","for":<type>,"result":...}` or an `error` with the REST route's code
 *   (VALIDATION_ERROR, NOT_FOUND, FORBIDDEN, CONFLICT, …); NOT_IMPLEMENTED when no handler is set.
 * - Presence needs a subscription to the project (NOT_SUBSCRIBED otherwise) and is sent as an
 *   event frame `presence.update` with `id: null`: it is not in the outbox, so it never moves a
 *   client's `last_event_id`. Payload: {user_id, connection_id, item_id, state, action}.
 * - Close codes: 1008 missing/bad/expired token, 1001 server shutdown, 1013 client too slow.
 */
export const WS_PATHS = [`${API_PREFIX}/annotation/ws`, `${API_PREFIX}/collaboration/ws`];

export interface WebSocketHubOptions {
  /** Server pings this often; a connection that misses two pongs is dropped. Default 30 s. */
  pingIntervalMs?: number;
  /** Events read per replay query. Default 500. */
  replayPageSize?: number;
  /** A socket with more than this many bytes queued is too slow and is closed (1013). */
  maxBufferedBytes?: number;
  /** Passed to the relay (PostgreSQL URL for LISTEN, batch size, polling, gap re-checks). */
  relay?: Omit<RelayOptions, 'db' | 'logger'>;
}

export interface HandlerContext {
  principal: Principal;
  deps: ApiDeps;
  connectionId: string;
}

/** Does what the REST twin of a message does; its result is sent back in the `ack`. */
export type MessageHandler = (ctx: HandlerContext, body: Record<string, unknown>) => Promise<unknown>;

export interface HubStats {
  connections: number;
  subscriptions: Record<string, number>;
  messages_in: number;
  messages_out: number;
}

type Subscription = ProjectSubscription<Conn>;

interface Conn {
  id: string;
  ws: WebSocket;
  principal: Principal;
  subs: Map<string, Subscription>;
  /** project id → this connection's presence there. */
  presence: Map<string, PresencePayload>;
  missedPongs: number;
  counters: TenantCounters;
}

interface TenantCounters {
  in: number;
  out: number;
}

const registry = new WeakMap<object, WebSocketHub>();

/** The hub serving the API built from these deps, if any (for GET /annotation/ws/stats). */
export function hubFor(deps: ApiDeps): WebSocketHub | undefined {
  return registry.get(deps);
}

/**
 * Attaches the WebSocket hub to the API's HTTP server: both WebSocket paths, token in `?token=`.
 * The relay (LISTEN connection) starts with the first WebSocket connection.
 */
export function attachWebSocketHub(server: http.Server, deps: ApiDeps, options: WebSocketHubOptions = {}): WebSocketHub {
  const hub = new WebSocketHub(deps, options);
  hub.attach(server);
  registry.set(deps, hub);
  return hub;
}

export class WebSocketHub {
  readonly replicaId = crypto.randomUUID();
  private readonly wss: WebSocketServer;
  private readonly verify: TokenVerifier;
  private readonly conns = new Set<Conn>();
  /** tenant+project → presence id (replica:connection) → presence, local and remote. */
  private readonly presence = new PresenceRoster();
  private readonly counters = new Map<string, TenantCounters>();
  private readonly handlers = new Map<HandledType, MessageHandler>();
  private readonly sender: FrameSender;
  private readonly subs: ProjectSubscriptions<Conn>;
  private relay?: EventRelay;
  private heartbeat?: NodeJS.Timeout;
  private server?: http.Server;
  private closed = false;
  private readonly pingIntervalMs: number;
  private readonly pageSize: number;

  constructor(
    private readonly deps: ApiDeps,
    private readonly options: WebSocketHubOptions = {},
  ) {
    this.verify = createTokenVerifier(deps.config);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.pageSize = options.replayPageSize ?? 500;
    this.sender = new FrameSender(options.maxBufferedBytes ?? 16 * 1024 * 1024, deps.logger);
    this.subs = new ProjectSubscriptions<Conn>(this.sender);
  }

  attach(server: http.Server): void {
    this.server = server;
    server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.beat(), this.pingIntervalMs);
    this.heartbeat.unref();
  }

  setHandler(type: HandledType, fn: MessageHandler): void {
    this.handlers.set(type, fn);
  }

  /** The relay, started on first use. */
  startRelay(): EventRelay {
    if (this.relay) return this.relay;
    const relay = new EventRelay(
      { db: this.deps.db, logger: this.deps.logger, databaseUrl: this.deps.config.DATABASE_URL, ...this.options.relay },
      { onEvent: (e) => this.subs.fanOut(e), onPresence: (p) => this.onRemotePresence(p) },
    );
    this.relay = relay;
    relay.ready.catch((err) => {
      // E.g. the database was down: the next subscribe starts a new relay.
      this.deps.logger.error({ err }, 'websocket relay failed to start');
      if (this.relay === relay) this.relay = undefined;
      void relay.close();
    });
    return relay;
  }

  stats(tenantId: string, projects?: string[]): HubStats {
    let connections = 0;
    for (const c of this.conns) if (c.principal.tenantId === tenantId) connections++;
    const subscriptions = this.subs.countsFor(tenantId, projects);
    const n = this.counters.get(tenantId) ?? { in: 0, out: 0 };
    return { connections, subscriptions, messages_in: n.in, messages_out: n.out };
  }

  // --- connections -----------------------------------------------------------------------

  private onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const check = checkUpgrade(req, WS_PATHS, this.verify);
    if (!check.ok || this.closed) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    void check.principal.then((principal) => {
      if (socket.destroyed) return;
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        if (!principal) {
          ws.close(1008, check.token ? 'invalid token' : 'missing token');
          return;
        }
        this.onConnection(ws, principal, check.expiresAt());
      });
    });
  };

  private onConnection(ws: WebSocket, principal: Principal, expiresAt: number | null): void {
    if (this.closed) {
      ws.close(1001, 'server shutting down');
      return;
    }
    this.startRelay();
    const counters = this.countersFor(principal.tenantId);
    const conn: Conn = { id: crypto.randomUUID(), ws, principal, subs: new Map(), presence: new Map(), missedPongs: 0, counters };
    this.conns.add(conn);
    metrics.websocketConnections.inc();
    ws.on('pong', () => {
      conn.missedPongs = 0;
    });
    ws.on('message', (data, isBinary) => {
      conn.missedPongs = 0;
      counters.in++;
      void this.onMessage(conn, data, isBinary);
    });
    ws.on('error', (err) => this.deps.logger.debug({ err }, 'websocket error'));
    ws.on('close', () => this.onClose(conn));
    // The token is checked once, at the upgrade; the connection ends when the token does.
    if (expiresAt !== null) {
      const timer = setTimeout(() => ws.close(1008, 'token expired'), Math.max(0, Math.min(expiresAt - Date.now(), 2 ** 31 - 1)));
      timer.unref();
      ws.once('close', () => clearTimeout(timer));
    }
  }

  private onClose(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    metrics.websocketConnections.dec();
    for (const sub of [...conn.subs.values()]) this.unsubscribe(conn, sub.projectId);
  }

  private beat(): void {
    for (const conn of this.conns) {
      if (conn.missedPongs >= 2) {
        conn.ws.terminate();
        this.onClose(conn);
        continue;
      }
      conn.missedPongs++;
      try {
        conn.ws.ping();
      } catch {
        // closing already
      }
    }
  }

  // --- messages ----------------------------------------------------------------------------

  private async onMessage(conn: Conn, data: RawData, isBinary: boolean): Promise<void> {
    const parsed = parseClientMessage(data, isBinary);
    if (!parsed.ok) {
      this.sender.error(conn, parsed.code, parsed.message, parsed.requestId, parsed.details);
      return;
    }
    const { msg } = parsed;
    try {
      switch (msg.type) {
        case 'ping':
          this.sender.reply(conn, { type: 'pong' }, msg.request_id);
          return;
        case 'subscribe_project':
          await this.subscribe(conn, msg.project_id, msg.last_event_id ?? undefined, msg.request_id);
          return;
        case 'unsubscribe_project':
          this.unsubscribe(conn, msg.project_id);
          this.sender.reply(conn, { type: 'ack', for: 'unsubscribe_project', project_id: msg.project_id }, msg.request_id);
          return;
        case 'user_presence':
          this.localPresence(conn, msg.project_id, msg.state, msg.item_id ?? null, msg.request_id);
          return;
        default:
          await this.handle(conn, msg);
      }
    } catch (err) {
      if (err instanceof ApiError) {
        this.sender.error(conn, err.code, err.message, msg.request_id, err.details.length ? err.details : undefined);
        return;
      }
      this.deps.logger.error({ err, type: msg.type, connection_id: conn.id }, 'websocket message failed');
      this.sender.error(conn, 'INTERNAL_ERROR', 'The message could not be processed', msg.request_id);
    }
  }

  private async handle(conn: Conn, msg: ClientMessage & { type: HandledType }): Promise<void> {
    const fn = this.handlers.get(msg.type);
    if (!fn) {
      this.sender.error(conn, 'NOT_IMPLEMENTED', `${msg.type} is not available on this server`, msg.request_id);
      return;
    }
    const { type, request_id, ...body } = msg as Record<string, unknown> & { type: HandledType; request_id?: string | number };
    const result = await fn({ principal: conn.principal, deps: this.deps, connectionId: conn.id }, body);
    this.sender.reply(conn, { type: 'ack', for: type, result: result ?? null }, request_id);
  }

  // --- subscriptions (bookkeeping and replay: subscriptions.ts) ------------------------------

  private async projectVisible(principal: Principal, projectId: string): Promise<boolean> {
    if (!UUID_PATTERN.test(projectId) || !canAccessProject(principal, projectId)) return false;
    const row = await this.deps.db('projects').where({ id: projectId, tenant_id: principal.tenantId }).first('id');
    return !!row;
  }

  private async subscribe(conn: Conn, projectId: string, lastEventId: bigint | undefined, requestId?: string | number): Promise<void> {
    const relay = this.startRelay();
    const [visible] = await Promise.all([this.projectVisible(conn.principal, projectId), relay.ready]);
    if (!visible) {
      this.sender.error(conn, 'NOT_FOUND', `project ${projectId} not found`, requestId);
      return;
    }
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    this.unsubscribe(conn, projectId, false);
    // The seam: from here on the relay hands this subscription every event above its watermark
    // (buffered while it catches up); the table gives what lies between last_event_id and it.
    const upTo = relay.watermark;
    const { sub, from } = this.subs.add(conn, conn.principal.tenantId, projectId, lastEventId, upTo);
    conn.subs.set(projectId, sub);
    this.sender.reply(conn, { type: 'ack', for: 'subscribe_project', project_id: projectId, replay_to: from < upTo ? upTo.toString() : null }, requestId);
    this.sendPresenceSnapshot(conn, sub.key, projectId);
    if (!sub.buffer) return;
    try {
      await this.subs.catchUp(this.deps.db, sub, from, upTo, this.pageSize);
    } catch (err) {
      this.deps.logger.error({ err, project_id: projectId }, 'websocket replay failed');
      this.sender.error(conn, 'INTERNAL_ERROR', 'Replay failed; subscribe again with last_event_id');
      this.unsubscribe(conn, projectId);
    }
  }

  private unsubscribe(conn: Conn, projectId: string, leave = true): void {
    const sub = conn.subs.get(projectId);
    if (!sub) return;
    conn.subs.delete(projectId);
    this.subs.remove(sub);
    if (leave && conn.presence.has(projectId)) this.localPresence(conn, projectId, 'left', null);
  }

  // --- presence ----------------------------------------------------------------------------

  private localPresence(conn: Conn, projectId: string, state: PresencePayload['state'], itemId: string | null, requestId?: string | number): void {
    if (state !== 'left' && !conn.subs.has(projectId)) {
      this.sender.error(conn, 'NOT_SUBSCRIBED', `subscribe to project ${projectId} before sending presence`, requestId);
      return;
    }
    const had = conn.presence.has(projectId);
    if (state === 'left' && !had) return;
    const payload: PresencePayload = {
      user_id: conn.principal.userId,
      connection_id: conn.id,
      item_id: itemId,
      state,
      action: state === 'left' ? 'leave' : had ? 'update' : 'join',
    };
    if (state === 'left') conn.presence.delete(projectId);
    else conn.presence.set(projectId, payload);
    this.applyPresence(conn.principal.tenantId, projectId, `${this.replicaId}:${conn.id}`, payload);
    if (requestId !== undefined) this.sender.reply(conn, { type: 'ack', for: 'user_presence', project_id: projectId }, requestId);
    const notice: PresenceNotice = { ...payload, replica_id: this.replicaId, tenant_id: conn.principal.tenantId, project_id: projectId };
    this.relay?.publishPresence(JSON.stringify(notice)).catch((err) => this.deps.logger.warn({ err }, 'presence publish failed'));
  }

  private onRemotePresence(raw: string): void {
    const notice = parsePresenceNotice(raw, this.replicaId);
    if (notice) this.applyPresence(notice.tenantId, notice.projectId, notice.presenceId, notice.payload);
  }

  private applyPresence(tenantId: string, projectId: string, presenceId: string, payload: PresencePayload): void {
    const k = key(tenantId, projectId);
    this.presence.apply(k, presenceId, payload);
    let frame: Buffer | undefined;
    for (const sub of this.subs.of(k)) this.sender.send(sub.conn, (frame ??= Buffer.from(presenceFrame(projectId, payload))));
  }

  private sendPresenceSnapshot(conn: Conn, k: string, projectId: string): void {
    for (const p of this.presence.snapshot(k, conn.id)) this.sender.send(conn, presenceFrame(projectId, p));
  }

  private countersFor(tenantId: string): TenantCounters {
    let c = this.counters.get(tenantId);
    if (!c) this.counters.set(tenantId, (c = { in: 0, out: 0 }));
    return c;
  }

  // --- shutdown ------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.server?.off('upgrade', this.onUpgrade);
    for (const conn of [...this.conns]) {
      conn.ws.close(1001, 'server shutting down');
      conn.ws.terminate();
      this.onClose(conn);
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await this.relay?.close();
    registry.delete(this.deps);
  }
}
