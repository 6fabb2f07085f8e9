import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/**
 * Embedded mode (no DATABASE_URL): PGlite, the API, the hub and the clients in one process. It
 * runs as a child process because PGlite's WASM loader needs dynamic import, which Jest's VM
 * refuses (see test/helpers/ws-pglite-scenario.ts for the scenario itself).
 */
async function scenario(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/helpers/ws-pglite-scenario.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'silent', TEST_LOG_LEVEL: 'silent' },
    timeout: 120_000,
  }).catch((err: { stdout?: string; message: string }) => ({ stdout: err.stdout ?? err.message }));
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    return { ok: false, error: stdout };
  }
}

it('delivers and replays events in one process through PGlite’s own LISTEN', async () => {
  const result = await scenario();
  expect(result).toMatchObject({ ok: true, mode: 'listen', delivered: 25 });
}, 150_000);

it('delivers and replays events with the polling fallback', async () => {
  const result = await scenario('--polling');
  expect(result).toMatchObject({ ok: true, mode: 'polling', delivered: 25 });
}, 150_000);
