import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Where a system Chromium is found: CHROMIUM_PATH, else these names on PATH (Debian's `chromium` first). */
const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return fs.existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of BROWSER_NAMES) {
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export const NO_BROWSER_MESSAGE =
  'NO BROWSER: the web app tests need a Chromium (Debian: `apt-get install -y chromium`, or set CHROMIUM_PATH). ' +
  'They fail in CI (CI is set) and are skipped elsewhere.';

/** Launches the system Chromium headless through playwright-core (no downloaded browser). */
export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    // Root in a container has no user namespace for Chromium's sandbox; the pages are our own app.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** test-artifacts/<suite>/ (git-ignored): screenshots a run leaves behind. */
export function artifactsDir(suite: string): string {
  const dir = path.resolve(__dirname, '../../test-artifacts', suite);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
