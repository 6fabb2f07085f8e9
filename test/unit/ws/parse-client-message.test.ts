import { parseClientMessage } from '../../../src/ws/messages';

describe('parseClientMessage', () => {
  it('accepts each client message type, with last_event_id as a bigint', () => {
    expect(parseClientMessage(Buffer.from('{"type":"ping","request_id":7}'), false)).toEqual({ ok: true, msg: { type: 'ping', request_id: 7 } });
    const sub = parseClientMessage('{"type":"subscribe_project","project_id":"p1","last_event_id":"9007199254740993"}', false);
    expect(sub).toMatchObject({ ok: true, msg: { type: 'subscribe_project', project_id: 'p1', last_event_id: 9007199254740993n } });
  });

  it('answers binary frames and non-JSON with BAD_REQUEST', () => {
    expect(parseClientMessage(Buffer.from('{"type":"ping"}'), true)).toEqual({ ok: false, code: 'BAD_REQUEST', message: 'Messages must be JSON text' });
    expect(parseClientMessage('not json', false)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it('answers invalid messages with VALIDATION_ERROR, the field, and the request_id echoed', () => {
    const bad = parseClientMessage('{"type":"user_presence","request_id":"r1","project_id":"p1","state":"dancing"}', false);
    expect(bad).toMatchObject({ ok: false, code: 'VALIDATION_ERROR', requestId: 'r1', details: [{ field: 'state' }] });
    expect(parseClientMessage('{"type":"nope","request_id":{"x":1}}', false)).toMatchObject({ ok: false, code: 'VALIDATION_ERROR', requestId: undefined });
  });
});

describe('parseClientMessage refuses hostile frames like the HTTP API does', () => {
  it('too deep, NUL, lone surrogates', () => {
    expect(parseClientMessage(Buffer.from(`{"type":"ping","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), false)).toMatchObject({ ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/nest/) });
    expect(parseClientMessage(Buffer.from('{"type":"suggestion_feedback","comment":"a\\u0000"}'), false)).toMatchObject({
      ok: false,
      code: 'VALIDATION_ERROR',
      details: [{ field: 'comment', message: expect.stringMatching(/NUL/) }],
    });
    expect(parseClientMessage(Buffer.from('{"type":"ping","request_id":"\\ud800"}'), false)).toMatchObject({ ok: false, code: 'VALIDATION_ERROR' });
  });
});
