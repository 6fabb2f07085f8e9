import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The layer checker (`npm run lint:layers`, .dependency-cruiser.cjs) run on a small fake project
 * laid out like this one: each forbidden import below must be reported under its rule, and the
 * allowed ones (type-only imports from workflows, the worker's activities index, the migration
 * list, the switcher's providers) must not be.
 */

const ROOT = path.join(__dirname, '../../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'fixture', dependencies: { knex: '*', openai: '*', '@temporalio/workflow': '*', preact: '*' }, devDependencies: { yaml: '*' } }),
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', esModuleInterop: true, strict: true } }),

  // Allowed: the targets and the imports every layer may make.
  'activities/index.ts': "export { x } from './thing';\n",
  'activities/thing.ts': 'export const x = 1;\nexport type Thing = { x: number };\n',
  'migrations/20200101000000_first.ts': "import { FIXED_ID } from '../src/annotation/pure';\nexport const up = async () => FIXED_ID;\n",
  'src/db/migrations.ts': "export * as first from '../../migrations/20200101000000_first';\n",
  'src/db/thing.ts': "import knex from 'knex';\nexport const db = knex;\n",
  'src/annotation/pure.ts': "export const FIXED_ID = 'id';\n",
  'src/temporal/worker.ts': "export { x } from '../../activities';\nexport { x as y } from '../../activities/thing';\n",
  'src/llm/providers/openai.ts': "import OpenAI from 'openai';\nexport const sdk = OpenAI;\n",
  'src/llm/providers/egress.ts': 'export const policy = 1;\n',
  'src/api/engine-guard.ts': "export { policy } from '../llm/providers/egress';\n",
  'workflows/good.ts': [
    "import { proxyActivities } from '@temporalio/workflow';",
    "import type { Thing } from '../activities/thing';",
    "import { FIXED_ID } from '../src/annotation/pure';",
    'export const use = (t: Thing) => [proxyActivities, FIXED_ID, t];',
    '',
  ].join('\n'),
  'src/jobs/type-cycle-a.ts': "import type { B } from './type-cycle-b';\nexport type A = { b?: B };\nexport const a = 1;\n",
  'src/jobs/type-cycle-b.ts': "import { a } from './type-cycle-a';\nexport type B = { a: typeof a };\n",

  // Forbidden, one file per rule.
  'src/api/uses-activities.ts': "export { x } from '../../activities/thing';\n",
  'src/temporal/worker-helper.ts': "export { x } from '../../activities/index';\n",
  'src/jobs/uses-migration.ts': "export { up } from '../../migrations/20200101000000_first';\n",
  'migrations/20200102000000_second.ts': "import { db } from '../src/db/thing';\nexport const up = async () => db;\n",
  'workflows/uses-knex.ts': "import knex from 'knex';\nexport const k = knex;\n",
  'workflows/uses-db.ts': "import { db } from '../src/db/thing';\nexport const d = db;\n",
  'src/annotation/reads-files.ts': "import fs from 'node:fs';\nexport const read = fs.readFileSync;\n",
  'src/quality/uses-db.ts': "import { db } from '../db/thing';\nexport const d = db;\n",
  'src/api/calls-openai.ts': "import OpenAI from 'openai';\nexport const sdk = OpenAI;\n",
  'src/api/uses-provider.ts': "export { sdk } from '../llm/providers/openai';\n",
  'activities/uses-api.ts': "export { policy } from '../src/api/engine-guard';\n",
  'src/ws/uses-test.ts': "export { helper } from '../../test/helper';\n",
  'test/helper.ts': 'export const helper = 1;\n',
  'src/db/uses-dev-dep.ts': "import YAML from 'yaml';\nexport const y = YAML;\n",
  'src/jobs/cycle-a.ts': "import { b } from './cycle-b';\nexport const a = () => b;\n",
  'src/jobs/cycle-b.ts': "import { a } from './cycle-a';\nexport const b = () => a;\n",
  'src/data/uses-api.ts': "export { policy } from '../api/engine-guard';\n",
  'src/processes/api.ts': 'export const startApi = 1;\n',
  'src/cli.ts': "export { startApi } from './processes/api';\n",
  'src/api/starts-a-process.ts': "export { startApi } from '../processes/api';\n",
  'src/tasks/missing.ts': "export { nothing } from './not-there';\n",
  'app/good.ts': "import { render } from 'preact';\nimport type { Thing } from '../activities/thing';\nimport { y } from './other';\nexport const r = (t: Thing) => [render, y, t];\n",
  'app/other.ts': 'export const y = 1;\n',
  'app/uses-service.ts': "export { FIXED_ID } from '../src/annotation/pure';\n",
  'src/api/uses-app.ts': "export { y } from '../../app/other';\n",
  'src/client/uses-db.ts': "export { db } from '../db/thing';\n",
  'src/api/uses-client.ts': "export { db } from '../client/uses-db';\n",
};

const EXPECTED = [
  ['activities-not-to-edges', 'activities/uses-api.ts', 'src/api/engine-guard.ts'],
  ['app-is-browser-code', 'app/uses-service.ts', 'src/annotation/pure.ts'],
  ['client-talks-http-only', 'src/client/uses-db.ts', 'src/db/thing.ts'],
  ['data-access-below-commands', 'src/data/uses-api.ts', 'src/api/engine-guard.ts'],
  ['migrations-import-pure-only', 'migrations/20200102000000_second.ts', 'src/db/thing.ts'],
  ['no-runtime-cycles', 'src/jobs/cycle-a.ts', 'src/jobs/cycle-b.ts'],
  ['not-to-unresolvable', 'src/tasks/missing.ts', './not-there'],
  ['only-src-llm-talks-to-providers', 'src/api/calls-openai.ts', 'node_modules/openai/'],
  ['only-src-llm-talks-to-providers', 'src/api/uses-provider.ts', 'src/llm/providers/openai.ts'],
  ['only-the-cli-imports-processes', 'src/api/starts-a-process.ts', 'src/processes/api.ts'],
  ['only-the-cli-imports-the-client', 'src/api/uses-client.ts', 'src/client/uses-db.ts'],
  ['only-the-migration-list-imports-migrations', 'src/jobs/uses-migration.ts', 'migrations/20200101000000_first.ts'],
  ['production-not-to-dev-deps', 'src/db/uses-dev-dep.ts', 'node_modules/yaml/'],
  ['production-not-to-test', 'src/ws/uses-test.ts', 'test/helper.ts'],
  ['pure-imports-no-io', 'src/annotation/reads-files.ts', 'fs'],
  ['pure-imports-pure-only', 'src/quality/uses-db.ts', 'src/db/thing.ts'],
  ['service-not-to-app', 'src/api/uses-app.ts', 'app/other.ts'],
  ['src-not-to-activities', 'src/api/uses-activities.ts', 'activities/thing.ts'],
  ['src-not-to-activities', 'src/temporal/worker-helper.ts', 'activities/index.ts'],
  ['worker-imports-activities-index-only', 'src/temporal/worker.ts', 'activities/thing.ts'],
  ['workflows-import-pure-modules-only', 'workflows/uses-db.ts', 'src/db/thing.ts'],
  ['workflows-import-the-workflow-sdk-only', 'workflows/uses-knex.ts', 'node_modules/knex/'],
];

/**
 * The violations in depcruise's default report (what `npm run lint:layers` prints):
 * `  error <rule>: <from> → <to>`, a cycle continuing on the next lines (`→ <next>`).
 */
function parseReport(report: string): string[][] {
  const found: string[][] = [];
  for (const block of report.split(/\n(?=\s*error )/)) {
    const m = /^\s*error ([\w-]+): ([\s\S]*)$/.exec(block);
    if (!m) continue;
    const [from, to] = m[2].split(/\s*→\s*/).map((p) => p.trim().split('\n')[0]);
    found.push([m[1], from, to.startsWith('node_modules/') ? to.replace(/^(node_modules\/[^/]+\/).*$/, '$1') : to]);
  }
  return found.sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anno-layers-'));
  for (const [file, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the layer checker reports each forbidden import under its rule, and nothing that is allowed', async () => {
  const run = await promisify(execFile)(process.execPath, [DEPCRUISE, 'src', 'workflows', 'activities', 'migrations', 'app', '--config', CONFIG], { cwd: dir }).then(
    (done) => ({ code: 0, stdout: done.stdout }),
    (failed: { code: number; stdout: string }) => failed,
  );
  expect(parseReport(run.stdout)).toEqual(EXPECTED);
  expect(run.code).toBe(EXPECTED.length); // non-zero: `npm test` stops before jest
}, 60000);

test('the fixture exercises every rule of the config', () => {
  // A rule added to the config without a forbidden sample here fails this test.
  const config = require(CONFIG) as { forbidden: { name: string }[] };
  expect(config.forbidden.map((r) => r.name).sort()).toEqual([...new Set(EXPECTED.map(([name]) => name))].sort());
});
