import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/** Starts `anno worker` as a separate process, as production runs it. */
export function spawnWorkerProcess(env: Record<string, string>, extraNodeArgs: string[] = []): ChildProcess {
  // node with tsx as a loader (not the tsx launcher), so the pid is the worker itself and a
  // signal reaches it directly.
  // WORKER_FROM_BUILD=1 runs the compiled worker (npm run build), as a production image does.
  // WORKER_NODE_ARGS adds node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = [...extraNodeArgs, ...(process.env.WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const args = [...nodeArgs, ...(process.env.WORKER_FROM_BUILD ? ['dist/src/cli.js', 'worker'] : ['--import', 'tsx', 'src/cli.ts', 'worker'])];
  return spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', WORKER_METRICS_PORT: '0', TEMPORAL_METRICS_BIND: 'off', ...testBundleEnv(), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/**
 * The run's workflow bundle (global setup) for a process a test starts from sources, so it loads
 * it instead of bundling at start-up; a build keeps its own (dist/workflow-bundle.js).
 */
export function testBundleEnv(): { WORKFLOW_BUNDLE_PATH?: string } {
  const bundle = process.env.ANNO_TEST_WORKFLOW_BUNDLE;
  return bundle && !process.env.WORKER_FROM_BUILD ? { WORKFLOW_BUNDLE_PATH: bundle } : {};
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  return exited;
}

/**
 * Resident memory of a process and its children, in MB (Linux): `now` (VmRSS) and `peak`
 * (VmHWM, the high-water mark since start, which includes the workflow bundling at start-up).
 */
export function rssMb(pid: number): { now: number; peak: number } {
  const total = { now: 0, peak: 0 };
  const visit = (p: number) => {
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      total.now += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
      total.peak += Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
      const children = fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const c of children.split(/\s+/).filter(Boolean)) visit(Number(c));
    } catch {
      // process gone
    }
  };
  visit(pid);
  return total;
}
