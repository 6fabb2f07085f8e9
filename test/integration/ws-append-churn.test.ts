import type { Knex } from 'knex';
import { appendEvent } from '../../src/events/outbox';
import { createDatabase } from '../../src/db/knex';
import { TestApi, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { auditDelivery, perfect } from '../helpers/delivery-audit';
import { seedProject } from '../helpers/seed';
import { TestWsClient } from '../helpers/ws-client';

/**
 * Churn: six producers run transactions of random length (0–400 ms) with one to three appends,
 * some rolled back, some duplicates, while one API replica is restarted twice and its client
 * reconnects each time with its last_event_id; a client on a second replica stays subscribed.
 * Both must end with every committed event exactly once, in id order.
 */
let tdb: TestDatabase;
let worker: Knex;
let tenant: string;
let project: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const token = () => tokenFor({ tenantId: tenant, sub: 'alice', roles: ['annotator'] });
const ids = (c: TestWsClient) => c.events(project).map((m) => BigInt(m.id));

beforeAll(async () => {
  tdb = await createTestDatabase();
  ({ tenantId: tenant, projectId: project } = await seedProject(tdb.db));
  worker = createDatabase({ databaseUrl: tdb.url, dataDir: '.data', poolMax: 8 });
});
afterAll(async () => {
  await worker?.destroy();
  await tdb?.drop();
});

it('loses, repeats and reorders nothing under random transaction lengths, rollbacks and two API restarts', async () => {
  const steadyApi = await startTestApi({ db: tdb.db });
  let restarting: TestApi = await startTestApi({ db: tdb.db });
  const steady = await TestWsClient.connect(steadyApi.baseUrl, token());
  await steady.subscribe(project);
  let hop = await TestWsClient.connect(restarting.baseUrl, token());
  await hop.subscribe(project);
  const start = BigInt((await appendEvent(worker, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { start: true } }))!);
  await Promise.all([steady, hop].map((c) => c.waitFor((m) => m.id === start.toString())));
  const received: bigint[] = []; // the restarted replica's clients, one after the other

  let stop = false;
  let rolledBack = 0;
  const lane = async (n: number) => {
    for (let i = 0; !stop; i++) {
      const appends = 1 + ((n + i) % 3);
      const rollback = (n * 7 + i) % 5 === 0;
      await worker
        .transaction(async (trx) => {
          for (let k = 0; k < appends; k++) {
            const dedupeKey = k === 1 && i % 4 === 0 ? `lane-${n}-dup` : undefined; // repeats after the first
            await appendEvent(trx, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { n, i, k }, dedupeKey });
            await sleep(Math.floor(Math.random() * (i % 9 === 0 ? 400 : 40)));
          }
          if (rollback) throw new Error('roll back');
        })
        .catch((err: Error) => {
          if (err.message !== 'roll back') throw err;
          rolledBack++;
        });
    }
  };
  const lanes = Promise.all([0, 1, 2, 3, 4, 5].map(lane));

  for (let restart = 0; restart < 2; restart++) {
    await sleep(1500);
    await restarting.close();
    await hop.closed;
    received.push(...ids(hop));
    restarting = await startTestApi({ db: tdb.db });
    hop = await TestWsClient.connect(restarting.baseUrl, token());
    await hop.subscribe(project, (received.at(-1) ?? start).toString());
  }
  await sleep(1500);
  stop = true;
  await lanes;
  const end = await appendEvent(worker, { tenantId: tenant, projectId: project, type: 'job.completed', payload: {} });
  await Promise.all([steady, hop].map((c) => c.waitFor((m) => m.id === end, 15_000)));
  await sleep(300);
  received.push(...ids(hop));

  const expected = (await tdb.db('events').where({ project_id: project }).andWhere('id', '>', start.toString()).orderBy('id').pluck('id')).map((x: string) => BigInt(x));
  const onSteady = auditDelivery(expected, ids(steady).filter((id) => id > start));
  const acrossRestarts = auditDelivery(expected, received.filter((id) => id > start));
  console.log(`churn: ${rolledBack} transactions rolled back; steady replica ${JSON.stringify(onSteady)}; restarted replica ${JSON.stringify(acrossRestarts)}`);
  await steady.close();
  await hop.close();
  await restarting.close();
  await steadyApi.close();
  expect(onSteady).toEqual(perfect(expected.length));
  expect(acrossRestarts).toEqual(perfect(expected.length));
  expect(rolledBack).toBeGreaterThan(0);
}, 60_000);
