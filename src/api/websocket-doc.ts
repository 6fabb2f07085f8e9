import { z } from 'zod';
import { ClientMessage } from '../ws/messages';

/**
 * The WebSocket protocol as the `x-websocket` extension of /openapi.json (OpenAPI has no
 * WebSocket operations). Client messages are generated from the zod schemas the hub parses
 * with (src/ws/messages.ts), so they cannot drift; server frames are written out here and in
 * docs/WEBSOCKET.md. Paths mirror src/ws/hub.ts WS_PATHS (not imported: the hub imports this
 * module's neighbour openapi.ts).
 */
export function webSocketDescription() {
  return {
    description: 'See docs/WEBSOCKET.md for the full protocol.',
    paths: ['/api/v1/annotation/ws', '/api/v1/collaboration/ws'],
    authentication: 'A token in ?token=; a missing, bad or expired token closes the socket with 1008 after the handshake.',
    closeCodes: { 1001: 'server shutdown', 1008: 'missing, bad or expired token', 1013: 'client too slow (too many bytes queued)' },
    heartbeat: 'The server pings every 30 s and drops a connection that misses two pongs.',
    clientMessages: z.toJSONSchema(ClientMessage, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }),
    serverMessages: {
      ack: '{"type":"ack","for":<client message type>,"project_id"?,"replay_to"?,"result"?,"request_id"?}',
      event:
        '{"type":"event","id":<bigint as string, null for presence>,"event":"job.progress"|"job.completed"|"review.assigned"|"review.completed"|' +
        '"conflict.detected"|"conflict.resolved"|"quality.alert"|"suggestion.ready"|"presence.update","project_id","payload","created_at"}',
      pong: '{"type":"pong","request_id"?}',
      error: '{"type":"error","code","message","details"?,"request_id"?}',
    },
    ordering:
      'After subscribe_project with last_event_id, missed events arrive first, in id order, then live ones, none twice. ' +
      'Presence events (id null) never move last_event_id.',
  };
}
