import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../logger';
import { EVENTS_APPEND_LOCK, EVENTS_CHANNEL } from '../events/outbox';
import { isEmbedded } from '../db/knex';

/** Presence crosses replicas on its own channel: it is never stored as an event. */
export const PRESENCE_CHANNEL = 'annotation_presence';

/** One row of the outbox as the relay hands it on. */
export interface RelayEvent {
  id: bigint;
  tenantId: string;
  projectId: string;
  /** The `{"type":"event",...}` frame, serialised and UTF-8 encoded once for every socket. */
  frame: Buffer;
}

export interface RelayOptions {
  db: Knex;
  logger: Logger;
  /** PostgreSQL URL for the dedicated LISTEN connection; defaults to the knex connection string. */
  databaseUrl?: string;
  /** Rows per catch-up query. */
  batchSize?: number;
  /** A catch-up query this often even without a notification (a lost NOTIFY costs at most this). */
  safetyPollMs?: number;
  /** A gap in the ids is treated as a rolled-back or in-flight insert at least this long… */
  gapMinMs?: number;
  /** …and skipped after this long whatever the snapshot says (its row, if it comes, is sent late). */
  gapMaxHoldMs?: number;
  /** Fall back to polling every `safetyPollMs` on PGlite instead of its LISTEN (tests of the fallback). */
  forcePolling?: boolean;
}

export interface RelayCallbacks {
  onEvent(event: RelayEvent, late: boolean): void;
  onPresence(payload: string): void;
}

interface PendingGap {
  id: bigint;
  since: number;
  /** No append was in flight at some moment after the gap was seen (see EVENTS_APPEND_LOCK). */
  fenced: boolean;
}

export interface EventRow {
  id: string;
  tenant_id: string;
  project_id: string;
  type: string;
  payload: unknown;
  created_at: Date | string;
}

/**
 * One page of a project's events with ids in (after, upTo], in id order: what a subscriber
 * missed. Ordered by the column, not the text alias, or "10" would sort before "9".
 */
export async function loadEventPage(
  db: Knex,
  q: { tenantId: string; projectId: string; after: bigint; upTo: bigint; limit: number },
): Promise<EventRow[]> {
  return (await db('events')
    .where({ tenant_id: q.tenantId, project_id: q.projectId })
    .andWhere('events.id', '>', q.after.toString())
    .andWhere('events.id', '<=', q.upTo.toString())
    .orderBy('events.id')
    .limit(q.limit)
    .select(db.raw('id::text AS id'), 'tenant_id', 'project_id', 'type', 'payload', 'created_at')) as EventRow[];
}

/** The server → client `event` message, shaped in one place for live and replayed events. */
export function eventFrame(row: Pick<EventRow, 'id' | 'type' | 'project_id' | 'payload' | 'created_at'>): string {
  return JSON.stringify({
    type: 'event',
    id: String(row.id),
    event: row.type,
    project_id: row.project_id,
    payload: typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload,
    created_at: row.created_at instanceof Date ? row.created_at.toISOString() : new Date(row.created_at).toISOString(),
  });
}

/**
 * The outbox relay of one API replica: it hands every committed event to the hub exactly once
 * and in id order.
 *
 * NOTIFY is only a wake-up: on each one (and on a slow safety timer, and after the LISTEN
 * connection comes back) the relay reads `events` after its watermark, up to `batchSize` rows a
 * query, so a burst of notifications costs one query per batch and nothing is lost while the
 * listener is down. Ids come from a sequence, so a transaction may commit id 12 before id 11:
 * the relay stops at such a gap until the missing id appears or is known never to come — a
 * rollback, or an `ON CONFLICT DO NOTHING` duplicate that used up a sequence value. It knows
 * the latter when it can take `EVENTS_APPEND_LOCK` exclusively (every `appendEvent` holds it
 * shared from before drawing its id until commit): then no append is in flight, and a re-read
 * that still misses the id settles it. It waits at most `gapMaxHoldMs`; an id skipped (either
 * way) is looked for a while longer and sent late if it ever shows up.
 * The watermark therefore only moves over ids that are settled, which is what lets the hub use
 * it as the seam between replay from the table and live delivery.
 *
 * Wake-ups: PostgreSQL — a dedicated `pg.Client` (not from the pool) LISTENing on both channels,
 * reconnecting with backoff. PGlite — the instance's own `listen()` (the embedded database is one
 * process, so its notifications are local callbacks), reached through knex-pglite's
 * `client.pglite`; if that is not available, polling every `safetyPollMs` (100 ms).
 */
export class EventRelay {
  watermark = 0n;
  readonly ready: Promise<void>;
  private readonly db: Knex;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly gapMinMs: number;
  private readonly gapMaxHoldMs: number;
  private readonly safetyPollMs: number;
  private pending: PendingGap | null = null;
  /** Ids skipped after gapMaxHoldMs: looked for a while longer, sent late if they show up. */
  private late = new Map<string, number>();
  private running = false;
  private again = false;
  private closed = false;
  private timers = new Set<NodeJS.Timeout>();
  private safetyTimer?: NodeJS.Timeout;
  private listener?: pg.Client;
  private reconnectDelay = 250;
  private unlisten: (() => Promise<void>)[] = [];

  constructor(
    private readonly opts: RelayOptions,
    private readonly callbacks: RelayCallbacks,
  ) {
    this.db = opts.db;
    this.log = opts.logger;
    this.batchSize = opts.batchSize ?? 500;
    this.gapMinMs = opts.gapMinMs ?? 5;
    this.gapMaxHoldMs = opts.gapMaxHoldMs ?? 3000;
    const embedded = isEmbedded(opts.db);
    this.safetyPollMs = opts.safetyPollMs ?? (embedded ? 100 : 1000);
    this.ready = this.start(embedded);
  }

  private async start(embedded: boolean): Promise<void> {
    const { rows } = await this.db.raw('SELECT coalesce(max(id), 0)::text AS max FROM events');
    this.watermark = BigInt(rows[0].max);
    if (embedded) await this.listenEmbedded();
    else await this.connectListener();
    this.safetyTimer = setInterval(() => this.poke(), this.safetyPollMs);
    this.safetyTimer.unref();
  }

  /** Publishes a presence change to every replica (this one included). */
  async publishPresence(payload: string): Promise<void> {
    await this.db.raw('SELECT pg_notify(?, ?)', [PRESENCE_CHANNEL, payload]);
  }

  // --- wake-up sources ---------------------------------------------------------------------

  private async listenEmbedded(): Promise<void> {
    const pglite = (this.db.client as { pglite?: { listen?: (ch: string, cb: (p: string) => void) => Promise<() => Promise<void>> } }).pglite;
    if (this.opts.forcePolling || !pglite?.listen) {
      this.log.info('websocket relay: polling the events table (embedded database without LISTEN)');
      return;
    }
    // Make sure the instance is open (knex opens it on the first query, done in start()).
    this.unlisten.push(await pglite.listen(EVENTS_CHANNEL, () => this.poke()));
    this.unlisten.push(await pglite.listen(PRESENCE_CHANNEL, (p) => this.callbacks.onPresence(p)));
  }

  /** The LISTEN connection's settings: the given URL, else those knex connects with. */
  private connectionConfig(): pg.ClientConfig {
    if (this.opts.databaseUrl) return { connectionString: this.opts.databaseUrl };
    const c = (this.db.client as { connectionSettings?: unknown }).connectionSettings ?? this.db.client.config.connection;
    if (typeof c === 'string') return { connectionString: c };
    if (c && typeof c === 'object') return { ...(c as pg.ClientConfig) };
    throw new Error('websocket relay: no PostgreSQL connection settings for the LISTEN connection');
  }

  private async connectListener(): Promise<void> {
    const client = new pg.Client(this.connectionConfig());
    client.on('notification', (msg) => {
      if (msg.channel === EVENTS_CHANNEL) this.poke();
      else if (msg.channel === PRESENCE_CHANNEL && msg.payload) this.callbacks.onPresence(msg.payload);
    });
    const lost = (err?: Error) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.log.warn({ err }, 'websocket relay: LISTEN connection lost; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}; LISTEN ${PRESENCE_CHANNEL}`);
    } catch (err) {
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.log.warn({ err }, 'websocket relay: LISTEN connection failed; retrying');
      this.scheduleReconnect();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.reconnectDelay = 250;
    // Whatever was committed while nobody listened.
    this.poke();
  }

  private scheduleReconnect(): void {
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 5000);
    this.later(delay, () => void this.connectListener());
  }

  /** For tests: drops the LISTEN connection as a network failure would. */
  simulateListenerLoss(): void {
    const client = this.listener;
    if (client) (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }

  // --- catch-up --------------------------------------------------------------------------

  /** Reads and hands on everything after the watermark; concurrent calls fold into one more pass. */
  poke(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
    });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        const more = await this.pollOnce();
        if (more) this.again = true;
        if (this.late.size) await this.pollLate();
      } catch (err) {
        if (this.closed) return;
        this.log.warn({ err }, 'websocket relay: catch-up query failed');
        this.later(500, () => this.poke());
        return;
      }
    } while (this.again && !this.closed);
    if (this.pending && !this.closed) this.later(10, () => this.poke());
  }

  /** One batch; true when there may be more rows right away. */
  private async pollOnce(): Promise<boolean> {
    const p = this.pending;
    const read = (q: Knex | Knex.Transaction) =>
      q.raw('SELECT id::text AS id, tenant_id, project_id, type, payload, created_at FROM events WHERE events.id > ? ORDER BY events.id LIMIT ?', [
        this.watermark.toString(),
        this.batchSize,
      ]) as Promise<{ rows: EventRow[] }>;
    let rows: EventRow[];
    if (p && Date.now() - p.since >= this.gapMinMs) {
      // Read under the fence: holding it exclusively means no append is between drawing its id
      // and committing (and none can start), so what this read misses will never come.
      ({ rows } = await this.db.transaction(async (trx) => {
        const { rows: fence } = (await trx.raw('SELECT pg_try_advisory_xact_lock(?) AS free', [EVENTS_APPEND_LOCK])) as {
          rows: { free: boolean }[];
        };
        if (fence[0]?.free) p.fenced = true;
        return read(trx);
      }));
    } else {
      ({ rows } = await read(this.db));
    }
    if (this.closed) return false;
    if (!rows.length) {
      this.pending = null;
      return false;
    }
    const now = Date.now();
    for (const row of rows) {
      const id = BigInt(row.id);
      const expected = this.watermark + 1n;
      if (id !== expected) {
        if (!this.gapSettled(expected, id, now)) return false;
        this.skip(expected, id - 1n, now);
      }
      this.watermark = id;
      this.pending = null;
      this.hand(row, false);
    }
    return rows.length === this.batchSize;
  }

  /** Whether the ids from `expected` below `next` are known never to appear (or waited for long enough). */
  private gapSettled(expected: bigint, next: bigint, now: number): boolean {
    const p = this.pending;
    if (!p || p.id !== expected) {
      this.pending = { id: expected, since: now, fenced: false };
      return false;
    }
    if (p.fenced) return true;
    if (now - p.since >= this.gapMaxHoldMs) {
      this.log.warn({ from: expected.toString(), to: (next - 1n).toString() }, 'websocket relay: skipping an unsettled id gap');
      return true;
    }
    return false;
  }

  private skip(from: bigint, to: bigint, now: number): void {
    if (to - from > 10_000n) return;
    for (let id = from; id <= to; id++) this.late.set(id.toString(), now);
  }

  private async pollLate(): Promise<void> {
    const now = Date.now();
    for (const [id, at] of this.late) if (now - at > 30_000) this.late.delete(id);
    if (!this.late.size) return;
    const ids = [...this.late.keys()].slice(0, 1000);
    const rows = (await this.db('events')
      .whereIn('events.id', ids)
      .orderBy('events.id')
      .select(this.db.raw('id::text AS id'), 'tenant_id', 'project_id', 'type', 'payload', 'created_at')) as EventRow[];
    for (const row of rows) {
      this.late.delete(row.id);
      this.hand(row, true);
    }
  }

  private hand(row: EventRow, late: boolean): void {
    try {
      this.callbacks.onEvent({ id: BigInt(row.id), tenantId: row.tenant_id, projectId: row.project_id, frame: Buffer.from(eventFrame(row)) }, late);
    } catch (err) {
      this.log.error({ err, event_id: row.id }, 'websocket relay: fan-out failed');
    }
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.safetyTimer) clearInterval(this.safetyTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.ready.catch(() => undefined);
    if (this.safetyTimer) clearInterval(this.safetyTimer);
    const client = this.listener;
    this.listener = undefined;
    if (client) await client.end().catch(() => undefined);
    for (const u of this.unlisten) await u().catch(() => undefined);
    // Let an in-flight query finish before the caller destroys the pool.
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }
}
