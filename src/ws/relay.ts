import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../logger';
import { EVENTS_CHANNEL } from '../events/outbox';
import { isEmbedded } from '../db/knex';
import type { EventRow } from '../db/models';
import { canPass } from './settled';

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
  /** While a gap waits, it is looked at again after this long, doubling up to `gapPollMaxMs`… */
  gapPollMinMs?: number;
  /** …(a rollback sends no notification; a commit does, and wakes the relay at once). */
  gapPollMaxMs?: number;
  /** Fall back to polling every `safetyPollMs` on PGlite instead of its LISTEN (tests of the fallback). */
  forcePolling?: boolean;
}

export interface RelayCallbacks {
  onEvent(event: RelayEvent): void;
  onPresence(payload: string): void;
}

/**
 * The columns of an `events` row the relay reads, typed by the model; the relay keeps its
 * one-statement SQL (a hot path). `id` is read as text: it is a bigint.
 */
export type RelayedEventRow = Pick<EventRow, 'id' | 'tenant_id' | 'project_id' | 'type' | 'payload' | 'created_at'>;

/**
 * One page of a project's events with ids in (after, upTo], in id order: what a subscriber
 * missed. Ordered by the column, not the text alias, or "10" would sort before "9".
 */
export async function loadEventPage(
  db: Knex,
  q: { tenantId: string; projectId: string; after: bigint; upTo: bigint; limit: number },
): Promise<RelayedEventRow[]> {
  return (await db('events')
    .where({ tenant_id: q.tenantId, project_id: q.projectId })
    .andWhere('events.id', '>', q.after.toString())
    .andWhere('events.id', '<=', q.upTo.toString())
    .orderBy('events.id')
    .limit(q.limit)
    .select(db.raw('id::text AS id'), 'tenant_id', 'project_id', 'type', 'payload', 'created_at')) as RelayedEventRow[];
}

/** The server → client `event` message, shaped in one place for live and replayed events. */
export function eventFrame(row: Pick<EventRow, 'id' | 'type' | 'project_id' | 'payload' | 'created_at'>): string {
  // Defensive about drivers that hand json and timestamps over as text.
  const payload: unknown = row.payload;
  const createdAt: Date | string = row.created_at;
  return JSON.stringify({
    type: 'event',
    id: String(row.id),
    event: row.type,
    project_id: row.project_id,
    payload: typeof payload === 'string' ? JSON.parse(payload) : payload,
    created_at: createdAt instanceof Date ? createdAt.toISOString() : new Date(createdAt).toISOString(),
  });
}

/**
 * The outbox relay of one API replica: it hands every committed event to the hub exactly once
 * and in id order, however long an appending transaction stays open and whenever the relay
 * (re)starts.
 *
 * NOTIFY is only a wake-up: on each one (and on a slow safety timer, and after the LISTEN
 * connection comes back) the relay reads `events` after its watermark, up to `batchSize` rows a
 * query, so a burst of notifications costs one query per batch and nothing is lost while the
 * listener is down.
 *
 * Why ids need care: they come from a sequence when an append *runs*, not when it commits, so
 * id 12 may commit before id 11, and an id may never commit (a rollback, or an `ON CONFLICT DO
 * NOTHING` duplicate that used up a sequence value). Reading "everything after the watermark"
 * is exact only below the *settled* id: the highest id below which no transaction in flight can
 * still commit one. `events_settled_bound()` (migrations/20261202000200) computes it from pg_locks:
 * every append holds EVENTS_APPEND_LOCK from before drawing its id, and its transaction's first
 * id as a two-key advisory lock, until its end is visible; the settled id is the highest visible
 * id capped below the lowest of those first ids (unknown, for a moment, while an append is
 * between drawing and locking: asked again). So the relay:
 * - passes consecutive ids at once (their rows are committed);
 * - stops at a gap until every id in it is settled — then a fresh read that still misses them
 *   proves they never come — or until the missing row commits. There is no timeout: a
 *   transaction open for a minute holds delivery of the ids above its own for that minute, and
 *   then everything goes out in order. (Ordering is global, so it holds other projects' too.)
 * - starts at the settled id, not at max(id): an event still in flight at start-up is delivered
 *   when it commits rather than skipped. Until then, later ids wait behind it as above.
 * The watermark thus only ever covers settled ids, which is what lets the hub use it as the seam
 * between replay from the table (ids up to it) and live delivery (ids above it): none twice,
 * none skipped.
 *
 * Wake-ups: PostgreSQL — a dedicated `pg.Client` (not from the pool) LISTENing on both channels,
 * reconnecting with backoff. PGlite — the instance's own `listen()` (the embedded database is one
 * process, so its notifications are local callbacks), reached through knex-pglite's
 * `client.pglite`; if that is not available, polling every `safetyPollMs` (100 ms). On PGlite a
 * transaction holds the one connection, so the relay never reads while an append is in flight.
 */
export class EventRelay {
  watermark = 0n;
  readonly ready: Promise<void>;
  private readonly db: Knex;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly gapPollMinMs: number;
  private readonly gapPollMaxMs: number;
  private readonly safetyPollMs: number;
  /** Ids up to here are final (committed and visible, or never coming) for any later read. */
  private settled = 0n;
  /** A gap right above the watermark waits to settle or fill; retried after `gapDelay`. */
  private pending = false;
  private gapDelay: number;
  private gapTimer?: NodeJS.Timeout;
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
    this.gapPollMinMs = opts.gapPollMinMs ?? 5;
    this.gapPollMaxMs = opts.gapPollMaxMs ?? 200;
    this.gapDelay = this.gapPollMinMs;
    const embedded = isEmbedded(opts.db);
    this.safetyPollMs = opts.safetyPollMs ?? (embedded ? 100 : 1000);
    this.ready = this.start(embedded);
  }

  private async start(embedded: boolean): Promise<void> {
    // Start at the settled id: an append in flight now is delivered when it commits.
    while (!this.closed) {
      const bound = await this.readBound(0n);
      if (bound.settled !== null) {
        this.watermark = this.settled = bound.settled;
        break;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
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
        if (await this.pollOnce()) this.again = true;
      } catch (err) {
        if (this.closed) return;
        this.log.warn({ err }, 'websocket relay: catch-up query failed');
        this.later(500, () => this.poke());
        return;
      }
    } while (this.again && !this.closed);
    // One re-check timer at a time: every notification ends a pass here, and each must not
    // start a polling chain of its own while a long transaction holds a gap open.
    if (this.pending && !this.closed && !this.gapTimer) {
      const delay = this.gapDelay;
      this.gapDelay = Math.min(delay * 2, this.gapPollMaxMs);
      this.gapTimer = this.later(delay, () => {
        this.gapTimer = undefined;
        this.poke();
      });
    }
  }

  /** The settled id (null: ask again) and the first id after `after`, read after it. */
  private async readBound(after: bigint): Promise<{ settled: bigint | null; next: bigint | null }> {
    const { rows } = (await this.db.raw('SELECT settled::text AS settled, next_id::text AS next FROM events_settled_bound(?)', [after.toString()])) as {
      rows: { settled: string | null; next: string | null }[];
    };
    const r = rows[0];
    return { settled: r?.settled == null ? null : BigInt(r.settled), next: r?.next == null ? null : BigInt(r.next) };
  }

  /** One batch; true when there may be more rows right away. */
  private async pollOnce(): Promise<boolean> {
    if (this.pending) {
      // One cheap query while a gap waits: is it filled, or settled? Only then read rows.
      const bound = await this.readBound(this.watermark);
      if (bound.settled !== null && bound.settled > this.settled) this.settled = bound.settled;
      if (bound.next === null || !canPass(this.watermark, this.settled, bound.next)) return false;
    }
    const { rows } = (await this.db.raw(
      'SELECT id::text AS id, tenant_id, project_id, type, payload, created_at FROM events WHERE events.id > ? ORDER BY events.id LIMIT ?',
      [this.watermark.toString(), this.batchSize],
    )) as { rows: RelayedEventRow[] };
    if (this.closed) return false;
    for (const row of rows) {
      const id = BigInt(row.id);
      // A gap is passed only when all of it is settled: this read came after, so it is final.
      if (!canPass(this.watermark, this.settled, id)) {
        this.pending = true;
        return false;
      }
      this.watermark = id;
      this.pending = false;
      this.gapDelay = this.gapPollMinMs;
      this.hand(row);
    }
    this.pending = false;
    return rows.length === this.batchSize;
  }

  private hand(row: RelayedEventRow): void {
    try {
      this.callbacks.onEvent({ id: BigInt(row.id), tenantId: row.tenant_id, projectId: row.project_id, frame: Buffer.from(eventFrame(row)) });
    } catch (err) {
      this.log.error({ err, event_id: row.id }, 'websocket relay: fan-out failed');
    }
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.closed) return undefined;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
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
