import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKFLOWS_PATH, writeWorkflowBundle } from '../../src/temporal/worker';

/**
 * The workflow bundle of a test run, built once and kept in a file cache keyed by the code that
 * goes into it: the files workflows/ imports (followed from workflows/index.ts, `import type`
 * left out as the bundler leaves it out), the installed packages (package-lock.json) and this
 * checkout's path. Global setup prepares it and names it in ANNO_TEST_WORKFLOW_BUNDLE, so every
 * test file, worker process and `anno dev` a test starts loads it instead of running webpack.
 * A change to any of those files makes a new key, so the bundle never lags the code.
 */
const ROOT = path.resolve(__dirname, '../..');
const CACHE_DIR = path.join(os.tmpdir(), 'anno-workflow-bundles');
/** Bundles of other keys are removed once this old (an edited checkout leaves one per edit). */
const STALE_MS = 24 * 3600_000;

/** The relative modules `file` imports for its values (specifiers of import/export … from and bare imports). */
function valueImports(file: string): string[] {
  const source = fs.readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?[^;'"]*?from\s*['"]([^'"]+)['"]/g)) {
    if (!m[1]) specifiers.push(m[2]);
  }
  for (const m of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) specifiers.push(m[1]);
  return specifiers.filter((s) => s.startsWith('.'));
}

function resolveModule(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  return [`${base}.ts`, path.join(base, 'index.ts'), `${base}.js`, base].find((p) => fs.existsSync(p) && fs.statSync(p).isFile());
}

/** Every source file the workflow bundle is made of, sorted (workflows/ and the pure modules it imports). */
export function workflowSourceFiles(): string[] {
  const entry = resolveModule(WORKFLOWS_PATH, WORKFLOWS_PATH)!;
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    for (const specifier of valueImports(file)) {
      const dep = resolveModule(file, specifier);
      if (dep && !seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return [...seen].sort();
}

export function workflowBundleKey(): string {
  const hash = crypto.createHash('sha256').update(ROOT);
  for (const file of [...workflowSourceFiles(), path.join(ROOT, 'package-lock.json')]) {
    hash.update(path.relative(ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** The path of the current workflow bundle, bundling it first when the cache has none for this code. */
export async function cachedWorkflowBundlePath(): Promise<string> {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const file = path.join(CACHE_DIR, `${workflowBundleKey()}.js`);
  if (fs.existsSync(file)) {
    fs.utimesSync(file, new Date(), new Date()); // in use: not stale
    return file;
  }
  // Written under a temporary name and renamed: a concurrent run never loads half a bundle.
  const partial = `${file}.${process.pid}.partial`;
  await writeWorkflowBundle(partial);
  fs.renameSync(partial, file);
  removeStaleBundles(file);
  return file;
}

function removeStaleBundles(keep: string): void {
  for (const name of fs.readdirSync(CACHE_DIR)) {
    const p = path.join(CACHE_DIR, name);
    try {
      if (p !== keep && Date.now() - fs.statSync(p).mtimeMs > STALE_MS) fs.rmSync(p, { force: true });
    } catch {
      // removed by a concurrent run
    }
  }
}
