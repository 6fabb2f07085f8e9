import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Finds the Temporal dev servers running on `dbFilename`: the `temporal server start-dev
 * --db-filename <file>` processes that an earlier `anno dev` left behind when it was killed
 * (SIGKILL, OOM, a closed terminal) — its child outlives it and keeps the SQLite file, the
 * frontend and the UI port. Two servers on one SQLite file would corrupt it, so any such
 * process belongs to this data directory's previous run.
 */
export function findDevServersOn(dbFilename: string, psOutput = listProcesses()): number[] {
  const file = path.resolve(dbFilename);
  const pids: number[] = [];
  for (const line of psOutput.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const args = m[2];
    if (!/\bstart-dev\b/.test(args)) continue;
    const db = /--db-filename[ =](\S+)/.exec(args)?.[1];
    if (db && path.resolve(db) === file && Number(m[1]) !== process.pid) pids.push(Number(m[1]));
  }
  return pids;
}

/** Stops the dev servers an earlier run left on `dbFilename` (SIGTERM, then SIGKILL). Returns their pids. */
export async function stopStaleDevServers(dbFilename: string, log: (msg: string) => void, graceMs = 5000): Promise<number[]> {
  const pids = findDevServersOn(dbFilename);
  for (const pid of pids) {
    log(`stopping the Temporal dev server (pid ${pid}) that an earlier run left on ${dbFilename}`);
    signal(pid, 'SIGTERM');
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  while (pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
  return pids;
}

function listProcesses(): string {
  try {
    return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  } catch {
    return ''; // no ps (a minimal container): nothing to find
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
