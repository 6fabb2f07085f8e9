import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findDevServersOn, stopStaleDevServers } from '../../../src/temporal/stale-dev-server';

const ps = [
  '  101 /opt/temporal server start-dev --port 7233 --db-filename /data/a/temporal.sqlite --ui-port 8233',
  '  102 /opt/temporal server start-dev --port 7234 --db-filename=/data/b/temporal.sqlite',
  '  103 vim /data/a/temporal.sqlite',
  '  104 /opt/temporal server start-dev --port 7235',
].join('\n');

test('finds only dev servers on the given history file', () => {
  expect(findDevServersOn('/data/a/temporal.sqlite', ps)).toEqual([101]);
  expect(findDevServersOn('/data/a/../b/temporal.sqlite', ps)).toEqual([102]);
  expect(findDevServersOn('/data/c/temporal.sqlite', ps)).toEqual([]);
});

test('stops a process left running on the file, and nothing else', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stale-dev-'));
  const file = path.join(dir, 'temporal.sqlite');
  // A stand-in with the dev server's command line (argv[0] of `sh -c` scripts is the script name).
  const child = spawn('sh', ['-c', 'sleep 60', 'start-dev', '--db-filename', file], { stdio: 'ignore' });
  const other = spawn('sh', ['-c', 'sleep 60', 'start-dev', '--db-filename', `${file}.other`], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await new Promise((r) => setTimeout(r, 200));
    const stopped = await stopStaleDevServers(file, () => undefined, 2000);
    expect(stopped).toEqual([child.pid]);
    await exited;
    expect(other.exitCode).toBeNull();
  } finally {
    child.kill('SIGKILL');
    other.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
