import { outputMode, ProgressReporter, type OutputMode, type Writable } from './progress';

/** Where a command writes: results on stdout (a line, or JSON with --json), progress on stderr. */
export interface Terminal {
  stdout: Writable;
  stderr: Writable;
  json: boolean;
}

export function processTerminal(json: boolean): Terminal {
  return { stdout: process.stdout, stderr: process.stderr, json };
}

/** The progress reporter of a command: a bar on a terminal's stderr, plain lines on a pipe, JSON lines on stdout with --json (or on stderr when stdout carries data). */
export function progressFor(t: Terminal, opts: { stdoutIsData?: boolean; plainIntervalMs?: number } = {}): ProgressReporter {
  const mode: OutputMode = outputMode(t.json, t.stderr);
  const out = mode === 'json' && !opts.stdoutIsData ? t.stdout : t.stderr;
  return new ProgressReporter(out, mode, opts.plainIntervalMs);
}

/** The command's result: JSON with --json, else the human line. */
export function printResult(t: Terminal, result: Record<string, unknown>, line: string, to: 'stdout' | 'stderr' = 'stdout'): void {
  const out = to === 'stdout' ? t.stdout : t.stderr;
  out.write(t.json ? `${JSON.stringify({ type: 'result', ...result })}\n` : `${line}\n`);
}
