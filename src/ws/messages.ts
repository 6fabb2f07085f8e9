import { z } from 'zod';
import { MAX_JSON_DEPTH, jsonDepthExceeds, unsafeStrings } from '../api/input/json-text';

/** What a client may send over the WebSocket (API.md, "WebSocket"). `request_id` is echoed back. */
const requestId = z.union([z.string().max(200), z.number()]).optional();
const eventId = z
  .union([z.string().regex(/^\d{1,19}$/), z.number().int().nonnegative()])
  .transform((v) => BigInt(v));

export const SubscribeMessage = z.object({
  type: z.literal('subscribe_project'),
  request_id: requestId,
  project_id: z.string().min(1).max(100),
  last_event_id: eventId.optional().nullable(),
});

export const UnsubscribeMessage = z.object({
  type: z.literal('unsubscribe_project'),
  request_id: requestId,
  project_id: z.string().min(1).max(100),
});

export const PresenceMessage = z.object({
  type: z.literal('user_presence'),
  request_id: requestId,
  project_id: z.string().min(1).max(100),
  item_id: z.string().min(1).max(100).optional().nullable(),
  state: z.enum(['viewing', 'editing', 'idle']),
});

export const PingMessage = z.object({ type: z.literal('ping'), request_id: requestId });

/** Forwarded to an injected handler, which validates the rest like its REST twin does. */
export const HandlerMessage = z.looseObject({
  type: z.enum(['suggestion_feedback', 'review_decision']),
  request_id: requestId,
});

export const ClientMessage = z.discriminatedUnion('type', [
  SubscribeMessage,
  UnsubscribeMessage,
  PresenceMessage,
  PingMessage,
  HandlerMessage,
]);

export type ClientMessage = z.infer<typeof ClientMessage>;
export type HandledType = z.infer<typeof HandlerMessage>['type'];

export interface PresencePayload {
  user_id: string;
  /** One user may have several tabs open: presence is per connection. */
  connection_id: string;
  item_id: string | null;
  state: 'viewing' | 'editing' | 'idle' | 'left';
  action: 'join' | 'update' | 'leave';
}

/**
 * Presence is not stored in the outbox, so its event frame has `id: null` and never moves a
 * client's `last_event_id`.
 */
export function presenceFrame(projectId: string, payload: PresencePayload, at = new Date()): string {
  return JSON.stringify({
    type: 'event',
    id: null,
    event: 'presence.update',
    project_id: projectId,
    payload,
    created_at: at.toISOString(),
  });
}

export type ParsedClientMessage =
  | { ok: true; msg: ClientMessage }
  | { ok: false; code: 'BAD_REQUEST' | 'VALIDATION_ERROR'; message: string; requestId?: string | number; details?: { field: string; message: string }[] };

/** A received frame as a client message, or the error to answer (echoing its request_id when it has one). */
export function parseClientMessage(data: { toString(): string }, isBinary: boolean): ParsedClientMessage {
  let raw: unknown;
  let text = '';
  try {
    if (isBinary) throw new Error('binary');
    text = data.toString(); // ws has already refused text frames that are not UTF-8 (close 1007)
    if (jsonDepthExceeds(text)) return { ok: false, code: 'BAD_REQUEST', message: `Messages may nest at most ${MAX_JSON_DEPTH} levels` };
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: 'BAD_REQUEST', message: 'Messages must be JSON text' };
  }
  // As for HTTP bodies: NUL and lone surrogates never reach PostgreSQL.
  const unsafe = unsafeStrings(raw);
  if (unsafe.length) return { ok: false, code: 'VALIDATION_ERROR', message: `Invalid message: ${unsafe[0].field}: ${unsafe[0].message}`, details: unsafe };
  const parsed = ClientMessage.safeParse(raw);
  if (parsed.success) return { ok: true, msg: parsed.data };
  const rid = (raw as { request_id?: unknown })?.request_id;
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    code: 'VALIDATION_ERROR',
    message: `Invalid message: ${issue.path.join('.') || 'type'}: ${issue.message}`,
    requestId: typeof rid === 'string' || typeof rid === 'number' ? rid : undefined,
    details: parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
  };
}
