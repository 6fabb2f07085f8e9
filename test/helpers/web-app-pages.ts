import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { artifactsDir } from './browser';

const ROLES = ['admin', 'manager', 'annotator', 'reviewer', 'viewer'];
const DOCS_SHOTS = path.resolve(__dirname, '../../docs/screenshots');

/**
 * Pages of the web app in one browser, each in a context of its own (its own sessionStorage,
 * like a separate person's tab) at a laptop's width, signing in as users do, with screenshots
 * kept as test artifacts.
 */
export class AppPages {
  private readonly shots: string;

  constructor(
    private readonly browser: Browser,
    private readonly baseUrl: string,
    private readonly tenant: string,
    suite: string,
  ) {
    this.shots = artifactsDir(suite);
  }

  /** A fresh tab, 1280 px wide; errors in the page are printed with the test's output. */
  async open(): Promise<Page> {
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err.message));
    page.on('console', (msg) => msg.type() === 'error' && console.error('page console:', msg.text()));
    // What a failed wait needs to be explained: the API's server-side failures and requests that got no answer.
    page.on('response', (res) => res.status() >= 500 && console.error('page response:', res.request().method(), res.url(), res.status()));
    page.on('requestfailed', (req) => console.error('page request failed:', req.method(), req.url(), req.failure()?.errorText));
    return page;
  }

  /** Signs in through the development sign-in form, as a newcomer on `anno dev` would. */
  async devSignIn(page: Page, user: string, roles: string[]): Promise<void> {
    await page.goto(`${this.baseUrl}/app/`);
    await page.getByLabel('Tenant').fill(this.tenant);
    await page.getByLabel('User id').fill(user);
    for (const role of ROLES) await page.getByRole('checkbox', { name: role, exact: true }).setChecked(roles.includes(role));
    await page.getByRole('button', { name: 'Sign in as this user' }).click();
    await page.getByTestId('who').waitFor();
  }

  /** Signs in by pasting a bearer token (what every deployment but `anno dev` offers), then opens `then`. */
  async tokenSignIn(page: Page, token: string, then: string, opts: { live?: boolean } = {}): Promise<void> {
    await page.goto(`${this.baseUrl}/app/`);
    await page.getByLabel('Token', { exact: true }).fill(token);
    await page.getByRole('button', { name: 'Sign in with token' }).click();
    await page.getByTestId('who').waitFor();
    await page.goto(`${this.baseUrl}/app${then}`);
    if (opts.live !== false) await page.locator('[data-testid=live-state][data-state=open]').waitFor();
  }

  /**
   * Checks the page's controls have accessible names, then saves a full-page screenshot in the
   * artifacts; with UPDATE_SCREENSHOTS=1, `docsName` also refreshes docs/screenshots/<docsName>.png.
   */
  async shot(page: Page, name: string, docsName?: string): Promise<void> {
    await expectNamedControls(page);
    const file = path.join(this.shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (docsName && process.env.UPDATE_SCREENSHOTS) {
      fs.mkdirSync(DOCS_SHOTS, { recursive: true });
      fs.copyFileSync(file, path.join(DOCS_SHOTS, `${docsName}.png`));
    }
  }
}

/** Every form control, button and link of the page has an accessible name (a label, aria-label or text). */
export async function expectNamedControls(page: Page): Promise<void> {
  // Runs in the page: DOM elements, typed loosely (this project's types have no DOM library).
  const unnamed = await page.locator('input, select, textarea, button, a[href]').evaluateAll((els: any[]) =>
    els
      .filter((e: any) => {
        if (e.type === 'hidden' || e.closest('[hidden]')) return false;
        const labelled = (e.labels?.length ?? 0) > 0 || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby');
        return !labelled && !(e.textContent ?? '').trim();
      })
      .map((el: any) => String(el.outerHTML).slice(0, 120)),
  );
  expect(unnamed).toEqual([]);
}
