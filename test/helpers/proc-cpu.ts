import fs from 'node:fs';

/**
 * CPU time of processes from /proc (Linux), for the benches' "CPU ms per item" figures: user +
 * system milliseconds a process (and, with `withChildren`, its descendants) has used so far.
 */
const TICK_MS = 10; // CLK_TCK is 100 on Linux builds node runs on

function ownCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime (fields 14, 15)
  } catch {
    return 0; // gone
  }
}

/** Children of every thread of `pid`: the Temporal dev server, say, is spawned by a Rust thread, not node's main one. */
function childrenOf(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** CPU ms of `pid` and every process below it. */
export function treeCpuMs(pid: number): number {
  return ownCpuMs(pid) + childrenOf(pid).reduce((n, c) => n + treeCpuMs(c), 0);
}

/** Pids of processes whose command name is `comm` (e.g. every `postgres` backend). */
export function pidsNamed(comm: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * CPU ms of every process named `comm`, summed. Backends that exit between two readings take
 * their time with them, so measure across a span where connections stay open (a pool).
 */
export function namedCpuMs(comm: string): number {
  return pidsNamed(comm).reduce((n, p) => n + ownCpuMs(p), 0);
}

/** The descendants of this process named `comm` (e.g. the Temporal dev server it started). */
export function descendantsNamed(root: number, comm: string): number[] {
  const found: number[] = [];
  const visit = (p: number) => {
    for (const c of childrenOf(p)) {
      try {
        if (fs.readFileSync(`/proc/${c}/comm`, 'utf8').trim() === comm) found.push(c);
      } catch {
        // gone
      }
      visit(c);
    }
  };
  visit(root);
  return found;
}

/** A meter over named processes: `sample()` answers the CPU ms each used since `start`. */
export function cpuMeter(sources: Record<string, () => number>) {
  let base: Record<string, number> = {};
  return {
    start() {
      base = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f()]));
    },
    sample(): Record<string, number> {
      return Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f() - (base[k] ?? 0)]));
    },
  };
}
