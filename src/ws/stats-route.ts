import Router from '@koa/router';
import { z } from 'zod';
import type { ApiContextExtras, ApiState } from '../api/deps';
import { defineRoute } from '../api/openapi';
import { hubFor } from './hub';

export const wsStatsRouter = new Router<ApiState, ApiContextExtras>();

const WsStats = z
  .object({
    connections: z.number().int().describe('Open WebSocket connections of the caller’s tenant on this replica'),
    subscriptions: z.record(z.string(), z.number().int()).describe('Subscribed sockets per project id'),
    messages_in: z.number().int().describe('Messages received from the tenant’s sockets since start'),
    messages_out: z.number().int().describe('Messages sent to the tenant’s sockets since start'),
  })
  .meta({ id: 'WebSocketStats' });

defineRoute(
  wsStatsRouter,
  {
    method: 'get',
    path: '/annotation/ws/stats',
    tags: ['websocket'],
    summary: 'WebSocket hub statistics',
    description:
      'For the caller’s tenant, on the replica that answers (each replica holds its own sockets). ' +
      'The hub itself is at GET /api/v1/annotation/ws and /api/v1/collaboration/ws (WebSocket upgrade, token in `?token=`).',
    responses: { 200: { description: 'Counters of this replica', schema: WsStats } },
  },
  (ctx) => {
    const principal = ctx.state.principal!;
    const hub = hubFor(ctx.deps);
    ctx.body = hub ? hub.stats(principal.tenantId, principal.projects) : { connections: 0, subscriptions: {}, messages_in: 0, messages_out: 0 };
  },
);
