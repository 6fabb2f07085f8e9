import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { z } from 'zod';
import type { ApiContextExtras, ApiDeps, ApiState } from '../../../src/api/deps';
import { conflict } from '../../../src/api/errors';
import { correlationId } from '../../../src/api/middleware/correlation-id';
import { errorHandler } from '../../../src/api/middleware/error-handler';
import { createLogger } from '../../../src/logger';

/** A bare app with the error handler in front of `fail`, to see how each kind of error is answered. */
async function answer(fail: Koa.Middleware<ApiState, ApiContextExtras>) {
  const app = new Koa<ApiState, ApiContextExtras>();
  const logged: unknown[] = [];
  const logger = createLogger({ LOG_LEVEL: 'error', NODE_ENV: 'test' });
  logger.error = ((obj: unknown) => void logged.push(obj)) as never;
  logger.child = (() => logger) as never;
  app.context.deps = { logger } as unknown as ApiDeps;
  app.use(correlationId());
  app.use(errorHandler());
  app.use(fail);
  const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
    return { status: res.status, headers: res.headers, body: (await res.json()) as { error: Record<string, unknown> }, logged };
  } finally {
    server.close();
  }
}

describe('errorHandler', () => {
  it('hides the message of an unexpected error behind INTERNAL_ERROR and logs the real one', async () => {
    const r = await answer(() => {
      throw new Error('password=hunter2 at db.internal:5432');
    });
    expect(r.status).toBe(500);
    expect(r.body.error).toMatchObject({ code: 'INTERNAL_ERROR', message: 'Internal server error', details: [] });
    expect(JSON.stringify(r.body)).not.toContain('hunter2');
    expect(r.body.error.correlation_id).toBe(r.headers.get('x-correlation-id'));
    expect(r.logged).toHaveLength(1);
  });

  it('maps Koa/http-errors by status', async () => {
    const known = await answer((ctx) => ctx.throw(409, 'already there'));
    expect(known.status).toBe(409);
    expect(known.body.error).toMatchObject({ code: 'CONFLICT', message: 'already there' });
    const hidden = await answer((ctx) => ctx.throw(502, 'upstream secret'));
    expect(hidden.status).toBe(502);
    expect(hidden.body.error.message).toBe('Internal server error');
  });

  it('answers our ApiErrors and raw ZodErrors as given', async () => {
    const c = await answer(() => {
      throw conflict('duplicate', [{ field: 'name', message: 'taken' }]);
    });
    expect(c.body.error).toMatchObject({ code: 'CONFLICT', details: [{ field: 'name', message: 'taken' }] });
    const zod = await answer(() => {
      z.object({ a: z.object({ b: z.number() }) }).parse({ a: { b: 'x' } });
    });
    expect(zod.status).toBe(422);
    expect(zod.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ field: 'a.b', message: expect.any(String) }] });
  });

  it('turns a unique violation that slipped past our checks into a 409', async () => {
    const r = await answer(() => {
      throw Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: '23505' });
    });
    expect(r.status).toBe(409);
    expect(r.body.error.message).not.toContain('constraint');
  });
});
