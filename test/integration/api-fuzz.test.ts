import { documentedOperations } from '../../src/api/openapi';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { runFuzz, summarize } from '../helpers/fuzz/run';
import { seedFuzzWorld, type FuzzWorld } from '../helpers/fuzz/world';
import { createDatabase } from '../../src/db/knex';
import { z } from 'zod';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Schema-driven fuzzing of every documented operation through the real HTTP stack (real
 * PostgreSQL, a Temporal dev server with this service's workers, a fake OpenAI server). Requests are
 * generated from GET /openapi.json itself; each exchange must stay below 500, answer a status
 * documented for its operation with a body matching that status's schema, and a request the
 * document calls valid must pass the route's zod schemas. `npm test` sends FUZZ_REQUESTS=2000
 * (the default) with a fixed seed, so the suite is repeatable; `npm run fuzz` sends 25,000 with a
 * new seed each time (printed; FUZZ_SEED replays a run). Strings include NUL, control characters
 * and lone surrogates (each must be a 422 naming the field); FUZZ_HOSTILE=0 leaves them out.
 */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? (REQUESTS > 2000 ? Date.now() % 1_000_000 : 777213));
const HOSTILE = process.env.FUZZ_HOSTILE !== '0';

let stack: TestStack;
let fake: FakeOpenAI;

beforeAll(async () => {
  // Workers too: review decisions and conflict resolutions are workflow updates, answered by a worker.
  // LLM calls give up after 5 s (not 60): the fuzzer may rate-limit an engine to 1 rpm, and every request must end.
  [stack, fake] = await Promise.all([startTestStack({ RATE_LIMIT_PER_MINUTE: '100000000', LLM_TIMEOUT_MS: '5000' }), startFakeOpenAI()]);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await fake?.close();
}, 120_000);

let world: FuzzWorld;

it(`${REQUESTS} generated requests over every operation: no 5xx, nothing off the document`, async () => {
  const api = stack.api;
  const doc = await (await api.request('/openapi.json')).json();
  world = await seedFuzzWorld(api, fake.baseUrl);
  const report = await runFuzz({ api, doc, operations: documentedOperations, world, requests: REQUESTS, seed: SEED, hostile: HOSTILE });
  process.stdout.write(`${summarize(report)}\n`);
  expect(report.requests).toBeGreaterThanOrEqual(REQUESTS);
  // Every operation was reached, and most answered something other than a refusal at least once.
  expect(Object.keys(report.byOperation).sort()).toEqual(documentedOperations.map((o) => o.operationId).sort());
  expect(report.serverErrors.map((f) => `${f.request.method} ${f.request.url} → ${f.problems.join(' | ')}`)).toEqual([]);
  expect(report.contractViolations.map((f) => `${f.request.method} ${f.request.url} → ${f.problems.join(' | ')}`)).toEqual([]);
}, 600_000);

it('breaks the world on purpose: a document that promises too little, and a database that is gone, are both reported', async () => {
  const api = stack.api;
  const doc = await (await api.request('/openapi.json')).json();
  const only = ['getProject', 'listProjects'];
  // The document forgets getProject's 404 and promises listProjects a field it never answers.
  const lying = documentedOperations.map((o) => {
    if (o.operationId === 'getProject') return { ...o, responses: Object.fromEntries(Object.entries(o.responses).filter(([s]) => s !== '404')) };
    if (o.operationId === 'listProjects') return { ...o, responses: { ...o.responses, 200: { ...o.responses[200], schema: z.object({ items: z.array(z.unknown()), cursor: z.string() }) } } };
    return o;
  });
  const lied = await runFuzz({ api, doc, operations: lying, world, requests: 200, seed: SEED, only });
  const problems = lied.contractViolations.flatMap((f) => f.problems.map((p) => `${f.request.operationId}: ${p}`));
  expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^getProject: status 404 is not documented/), expect.stringMatching(/^listProjects: 200 body does not match its schema: cursor/)]));
  expect(lied.serverErrors).toEqual([]);

  // The API's database is a closed port: every request that reads it fails, and each is counted.
  const realDb = api.deps.db;
  const gone = createDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/gone', dataDir: '.data' });
  api.deps.db = gone;
  try {
    const down = await runFuzz({ api, doc, operations: documentedOperations, world, requests: 100, seed: SEED, only });
    expect(down.serverErrors.length).toBeGreaterThan(0);
    expect(down.serverErrors.every((f) => f.status !== undefined && f.status >= 500)).toBe(true);
  } finally {
    api.deps.db = realDb;
    await gone.destroy();
  }
}, 120_000);
