import type { Knex } from 'knex';
import { eventFrame, loadEventPage, type RelayEvent } from './relay';
import type { FrameSender, FrameTarget } from './sender';

/** One connection's subscription to one project's events. */
export interface Subscription<C extends FrameTarget = FrameTarget> {
  conn: C;
  tenantId: string;
  projectId: string;
  key: string;
  /** Live events that arrive while the catch-up from the table runs wait here. */
  buffer: RelayEvent[] | null;
  /** Highest id sent on this subscription: nothing at or below it is sent again. */
  lastSent: bigint;
  closed: boolean;
}

export const projectKey = (tenantId: string, projectId: string) => `${tenantId}\u0000${projectId}`;

/**
 * The hub's subscriptions by project, and the seam between replay and live delivery: a
 * subscription made at the relay's watermark `upTo` gets every live event above it (buffered
 * while it catches up), and the events table gives what lies between its `last_event_id` and
 * `upTo`, in id order; an id is never sent twice.
 */
export class ProjectSubscriptions<C extends FrameTarget> {
  private readonly byProject = new Map<string, Set<Subscription<C>>>();

  constructor(private readonly sender: FrameSender) {}

  /** Registers a subscription; `from` is where its catch-up starts (== upTo: nothing to catch up). */
  add(conn: C, tenantId: string, projectId: string, lastEventId: bigint | undefined, upTo: bigint): { sub: Subscription<C>; from: bigint } {
    const from = lastEventId === undefined || lastEventId > upTo ? upTo : lastEventId;
    const key = projectKey(tenantId, projectId);
    const sub: Subscription<C> = { conn, tenantId, projectId, key, buffer: from < upTo ? [] : null, lastSent: lastEventId ?? upTo, closed: false };
    let set = this.byProject.get(key);
    if (!set) this.byProject.set(key, (set = new Set()));
    set.add(sub);
    return { sub, from };
  }

  remove(sub: Subscription<C>): void {
    sub.closed = true;
    const set = this.byProject.get(sub.key);
    set?.delete(sub);
    if (set && !set.size) this.byProject.delete(sub.key);
  }

  /** The subscriptions of one project (tenant + project key). */
  of(key: string): Iterable<Subscription<C>> {
    return this.byProject.get(key) ?? [];
  }

  /** Subscriptions per project of a tenant (only the given projects, when given). */
  countsFor(tenantId: string, projects?: string[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [key, subs] of this.byProject) {
      const [t, projectId] = key.split('\u0000');
      if (t !== tenantId || (projects && !projects.includes(projectId)) || !subs.size) continue;
      counts[projectId] = subs.size;
    }
    return counts;
  }

  /** A live event from the relay to every subscription of its project. */
  fanOut(event: RelayEvent): void {
    for (const sub of this.of(projectKey(event.tenantId, event.projectId))) this.deliver(sub, event);
  }

  /**
   * Sends what the subscription missed, (from, upTo], from the table a page at a time, then the
   * live events buffered meanwhile. Throws if the table cannot be read (the caller unsubscribes).
   */
  async catchUp(db: Knex, sub: Subscription<C>, from: bigint, upTo: bigint, pageSize: number): Promise<void> {
    let cursor = from;
    while (!sub.closed && cursor < upTo) {
      const rows = await loadEventPage(db, { tenantId: sub.tenantId, projectId: sub.projectId, after: cursor, upTo, limit: pageSize });
      if (sub.closed) return;
      for (const row of rows) {
        const id = BigInt(row.id);
        if (id > sub.lastSent) {
          this.sender.send(sub.conn, eventFrame(row));
          sub.lastSent = id;
        }
      }
      if (rows.length < pageSize) break;
      cursor = BigInt(rows[rows.length - 1].id);
    }
    const buffered = sub.buffer ?? [];
    sub.buffer = null;
    if (sub.closed) return;
    for (const e of buffered) this.deliver(sub, e);
  }

  private deliver(sub: Subscription<C>, event: RelayEvent): void {
    if (sub.buffer) {
      sub.buffer.push(event);
      return;
    }
    // The relay hands ids in increasing order, each once; this guards the replay seam.
    if (event.id <= sub.lastSent) return;
    this.sender.send(sub.conn, event.frame);
    sub.lastSent = event.id;
  }
}
