import crypto from 'node:crypto';
import type { Browser } from 'playwright-core';
import { tokenFor, type TestApi } from '../helpers/api';
import { NO_BROWSER_MESSAGE, findChromium, launchChromium } from '../helpers/browser';
import type { TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { sentimentTexts } from '../helpers/seed';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { AppPages } from '../helpers/web-app-pages';

/**
 * The web app at /app in a real Chromium (playwright-core driving the system's browser), against
 * the real stack: API + WebSocket hub, Temporal dev server with this service's workers, PostgreSQL,
 * and a fake OpenAI-compatible provider for a job slow enough to pause. Screenshots of every
 * scenario go to test-artifacts/web-app/; UPDATE_SCREENSHOTS=1 also copies one of each view to
 * docs/screenshots/ for the README (test/helpers/web-app-pages.ts).
 */
jest.setTimeout(120_000);

const executablePath = findChromium();
if (!executablePath) {
  console.warn(`\n\n  ${NO_BROWSER_MESSAGE}\n\n`);
  if (process.env.CI) throw new Error(NO_BROWSER_MESSAGE);
}
const describeWithBrowser = executablePath ? describe : describe.skip;

const TENANT = 'acme-web';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const LABELS = ['positive', 'negative', 'neutral'];
/** Short, so one test can make a decision wait past it (the API answers 503 DECISION_PENDING and the page sends it again). */
const DECISION_WAIT_MS = 2000;

let stack: TestStack;
let api: TestApi;
let tdb: TestDatabase;
let fake: FakeOpenAI;
let browser: Browser;
let pages: AppPages;

describeWithBrowser('web app in a browser', () => {
  beforeAll(async () => {
    [stack, fake, browser] = await Promise.all([startTestStack({ DECISION_WAIT_MS: String(DECISION_WAIT_MS) }, { devSignIn: true }), startFakeOpenAI({ latencyMs: 0 }), launchChromium(executablePath!)]);
    ({ api, tdb } = stack);
    pages = new AppPages(browser, api.baseUrl, TENANT, 'web-app');
  });
  afterAll(async () => {
    await browser?.close();
    await fake?.close();
    await stack?.stop();
  });

  async function call(method: string, p: string, json?: unknown, token = manager) {
    const res = await api.request(`/api/v1${p}`, { method, token, json });
    const body = (await res.json()) as any;
    if (res.status >= 300) throw new Error(`${method} ${p} → ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  async function project(name: string, members: [string, string][], texts: string[], routing?: Record<string, unknown>) {
    const p = await call('POST', '/projects', { name, label_schema: { type: 'single_label', labels: LABELS }, ...(routing ? { routing } : {}) });
    for (const [user_id, role] of members) await call('POST', `/projects/${p.id}/members`, { user_id, role });
    const items = await call('POST', `/projects/${p.id}/items`, { items: texts.map((text) => ({ data: { text } })) });
    return { projectId: p.id as string, itemIds: items.item_ids as string[] };
  }

  test('/app is served with a fallback to the app for its own routes; the dev sign-in mints a token the API accepts', async () => {
    const index = await fetch(`${api.baseUrl}/app/tasks/whatever`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(index.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(await index.text()).toContain('/app/main.js');
    expect((await fetch(`${api.baseUrl}/app/main.js`)).headers.get('content-type')).toMatch(/javascript/);
    const missing = await fetch(`${api.baseUrl}/app/nothing.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('NOT_FOUND');
    expect((await fetch(`${api.baseUrl}/app/..%2f..%2fpackage.json`)).status).toBe(404);

    const minted = await fetch(`${api.baseUrl}/api/v1/dev/sign-in`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tenant_id: TENANT, user_id: 'zoe', roles: ['viewer'] }),
    });
    expect(minted.status).toBe(200);
    const { token } = (await minted.json()) as any;
    expect((await api.request('/api/v1/projects', { token })).status).toBe(200);
    const bad = await fetch(`${api.baseUrl}/api/v1/dev/sign-in`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tenant_id: TENANT, user_id: 'zoe', roles: ['root'] }) });
    expect(bad.status).toBe(422);
  });

  test('a reviewer signs in, completes a task with the keyboard while a manager watches, and the manager’s views update live', async () => {
    const { projectId, itemIds } = await project('Reviews', [['rita', 'reviewer'], ['mia', 'manager']], ['the delivery was awful and broken', 'a wonderful, positive experience']);
    const task = await call('POST', '/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds, kind: 'review', assignee_id: 'rita', due_in_seconds: 1800 });

    const managerPage = await pages.open();
    await pages.tokenSignIn(managerPage, manager, `/jobs?project=${projectId}`);
    const managerRow = managerPage.locator(`[data-testid=tasks-table] [data-task-id="${task.task_id}"]`);
    await expect(managerRow.getAttribute('data-status')).resolves.toBe('open');

    const reviewer = await pages.open();
    await pages.devSignIn(reviewer, 'rita', ['reviewer']);
    await reviewer.getByRole('heading', { name: 'My tasks' }).waitFor();
    // Due in 30 minutes: listed as due soon.
    await reviewer.getByRole('region', { name: 'Due soon (within an hour)' }).locator(`[data-task-id="${task.task_id}"]`).waitFor();
    await pages.shot(reviewer, '1-reviewer-tasks');
    // Keyboard only: Tab to the task's link, Enter to open it.
    const link = reviewer.locator(`[data-task-id="${task.task_id}"] a`);
    for (let i = 0; i < 20 && !(await link.evaluate((el) => el === (globalThis as any).document.activeElement)); i++) await reviewer.keyboard.press('Tab');
    await reviewer.keyboard.press('Enter');
    await reviewer.getByTestId('item-text').filter({ hasText: 'awful' }).waitFor();
    await reviewer.getByTestId('suggestion').getByText('confidence').waitFor();
    await expect(reviewer.getByTestId('due').textContent()).resolves.toMatch(/due in (29|30) min/);

    // The manager opens the same task: the reviewer sees who else is viewing.
    const watcher = await pages.open();
    await pages.tokenSignIn(watcher, manager, `/tasks/${task.task_id}`);
    await watcher.getByTestId('item-text').filter({ hasText: 'awful' }).waitFor();
    await reviewer.getByTestId('presence').filter({ hasText: 'Also viewing: mia' }).waitFor();
    await pages.shot(reviewer, '1-reviewer-item', 'reviewer');
    await watcher.context().close();

    // Item 1: key 3 picks "neutral", Enter submits (a modification of the AI's label).
    await reviewer.keyboard.press('3');
    await expect(reviewer.getByTestId('label-neutral').getAttribute('aria-pressed')).resolves.toBe('true');
    await reviewer.keyboard.press('Enter');
    await reviewer.getByTestId('work-status').filter({ hasText: 'Modified: item 1 of 2. 1 left.' }).waitFor();
    // Item 2 comes up; Enter with the suggestion still picked approves it.
    await reviewer.getByTestId('item-text').filter({ hasText: 'wonderful' }).waitFor();
    await reviewer.getByTestId('suggestion').getByText('confidence').waitFor();
    await reviewer.keyboard.press('Enter');
    await reviewer.getByTestId('task-done').waitFor();
    await pages.shot(reviewer, '1-reviewer-done');

    // The manager's page, untouched since it loaded: the task completes and the team figures move.
    await managerPage.locator(`[data-testid=tasks-table] [data-task-id="${task.task_id}"][data-status=completed]`).waitFor({ timeout: 20_000 });
    await managerPage.getByTestId('team-figures').filter({ hasText: '2 reviewed' }).waitFor();
    await pages.shot(managerPage, '1-manager-live');

    // The item's history as the manager sees it: the final label with who decided, and the audit trail.
    const history = await pages.open();
    await pages.tokenSignIn(history, manager, `/tasks/${task.task_id}`);
    await history.getByTestId('item-text').filter({ hasText: 'awful' }).waitFor();
    await history.getByTestId('item-history').locator('summary').click();
    await history.getByTestId('final-label').filter({ hasText: 'Final label: neutral — consensus (single) by consensus' }).waitFor();
    await history.getByRole('list', { name: 'Audit trail' }).getByText('task.decision').first().waitFor();
    await pages.shot(history, '1-item-history');
    await history.context().close();

    const human = await tdb.db('annotations').where({ task_id: task.task_id, source: 'human' }).orderBy('created_at');
    expect(human.map((a) => [a.item_id, a.value.label, a.annotator_id, a.status])).toEqual([
      [itemIds[0], 'neutral', 'rita', expect.any(String)],
      [itemIds[1], expect.any(String), 'rita', expect.any(String)],
    ]);
    const decisions = await tdb.db('audit_log').where({ entity_type: 'task', entity_id: task.task_id, action: 'task.decision' }).pluck('details');
    expect(decisions.map((d: any) => d.decision)).toEqual(['modify', 'approve']);
    // The suggestions the reviewer saw got their feedback (the learning loop): corrected, then accepted.
    const feedback = await waitFor(
      () => tdb.db('suggestions').where({ project_id: projectId }).whereNotNull('feedback_action').orderBy('feedback_at').select('feedback_action', 'feedback_value', 'feedback_by'),
      (rows) => rows.length === 2,
      10_000,
      'feedback on both suggestions',
    );
    expect(feedback).toEqual([
      { feedback_action: 'modify', feedback_value: { label: 'neutral' }, feedback_by: 'rita' },
      { feedback_action: 'accept', feedback_value: null, feedback_by: 'rita' },
    ]);
    await reviewer.context().close();
    await managerPage.context().close();
  });

  test('a pre-annotation started from the manager’s page sends its low-confidence items to the reviewer’s list, live on both pages', async () => {
    // Every AI label below 0.99 confidence goes to review.
    const { projectId } = await project('Routed', [['rex', 'reviewer'], ['mia', 'manager']], ['meh, it arrived', 'no idea what to think'], {
      high_confidence_threshold: 0.995,
      low_confidence_threshold: 0.99,
    });
    const reviewer = await pages.open();
    await pages.devSignIn(reviewer, 'rex', ['reviewer']);
    await reviewer.getByTestId('no-tasks').waitFor();
    await reviewer.locator('[data-testid=live-state][data-state=open]').waitFor();

    const managerPage = await pages.open();
    await pages.tokenSignIn(managerPage, manager, `/jobs?project=${projectId}`);
    await managerPage.getByRole('button', { name: 'Pre-annotate new items' }).click();
    const job = managerPage.getByTestId('job').first();
    await job.locator('xpath=self::*[@data-status="completed"]').waitFor({ timeout: 30_000 });
    await expect(job.getByTestId('job-figures').textContent()).resolves.toMatch(/^2 \/ 2 processed \(100 %\).* 2 to review/);
    // The review task the job opened shows in the manager's table and, without a reload, in the reviewer's list.
    const [task] = (await call('GET', `/annotation/tasks?project_id=${projectId}`)).items;
    expect(task).toMatchObject({ kind: 'review', assignee_id: 'rex', status: 'open', source: expect.stringMatching(/pre/) });
    await managerPage.locator(`[data-testid=tasks-table] [data-task-id="${task.task_id}"][data-status=open]`).waitFor();
    await reviewer.getByRole('region', { name: 'Open' }).locator(`[data-task-id="${task.task_id}"]`).waitFor();
    await pages.shot(managerPage, '1b-manager-job-routed');
    await reviewer.context().close();
    await managerPage.context().close();
  });

  test('a decision its workflow cannot record at once: the page says it is still recording, sends it again with its key, and it lands once', async () => {
    const { itemIds, projectId } = await project('Slow decision', [['rita', 'reviewer']], ['a wonderful, positive experience']);
    const task = await call('POST', '/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds, kind: 'review', assignee_id: 'rita' });
    const reviewer = await pages.open();
    await pages.devSignIn(reviewer, 'rita', ['reviewer']);
    await reviewer.goto(`${api.baseUrl}/app/tasks/${task.task_id}`);
    await reviewer.getByTestId('item-text').filter({ hasText: 'wonderful' }).waitFor();
    await reviewer.getByTestId('suggestion').getByText('confidence').waitFor();
    // The decision's activity cannot write its annotation while the test holds the table.
    const held = await tdb.db.transaction();
    await held.raw('LOCK TABLE annotations IN EXCLUSIVE MODE');
    try {
      // Back to back, as a quick hand types them: Enter must submit the label 3 just picked.
      await reviewer.keyboard.press('3');
      await reviewer.keyboard.press('Enter');
      await reviewer.getByTestId('work-status').filter({ hasText: 'Still recording the decision' }).waitFor({ timeout: 4 * DECISION_WAIT_MS });
    } finally {
      await held.rollback();
    }
    await reviewer.getByTestId('task-done').waitFor({ timeout: 20_000 });
    const human = await tdb.db('annotations').where({ task_id: task.task_id, source: 'human' });
    expect(human.map((a) => a.value.label)).toEqual(['neutral']);
    const decisions = await tdb.db('audit_log').where({ entity_type: 'task', entity_id: task.task_id, action: 'task.decision' }).count({ n: '*' });
    expect(decisions).toEqual([{ n: '1' }]);
    await reviewer.context().close();
  });

  test('a reassigned task leaves the reviewer’s screen live', async () => {
    const { projectId, itemIds } = await project('Reassign', [['rita', 'reviewer'], ['ron', 'reviewer']], ['just an ordinary day']);
    const task = await call('POST', '/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds, kind: 'review', assignee_id: 'rita' });
    const reviewer = await pages.open();
    await pages.devSignIn(reviewer, 'rita', ['reviewer']);
    await reviewer.goto(`${api.baseUrl}/app/tasks/${task.task_id}`);
    await reviewer.getByTestId('item-text').filter({ hasText: 'ordinary' }).waitFor();
    await reviewer.locator('[data-testid=live-state][data-state=open]').waitFor();
    await call('POST', `/annotation/tasks/${task.task_id}/reassign`, { assignee_id: 'ron' });
    await reviewer.getByTestId('task-gone').filter({ hasText: 'reassigned to ron' }).waitFor();
    await pages.shot(reviewer, '2-reviewer-reassigned');
    await reviewer.getByRole('heading', { name: 'My tasks' }).waitFor({ timeout: 10_000 });
    await expect(reviewer.locator(`[data-task-id="${task.task_id}"]`).count()).resolves.toBe(0);
    await reviewer.context().close();
  });

  test('an expert resolves a conflict with a reason, the disagreeing inputs side by side', async () => {
    const { projectId, itemIds } = await project('Disputes', [['ann', 'annotator'], ['ben', 'annotator'], ['erin', 'manager']], ['it was fine, I guess'], { annotators_per_item: 2 });
    const ann = tokenFor({ tenantId: TENANT, sub: 'ann', roles: ['annotator'] });
    const ben = tokenFor({ tenantId: TENANT, sub: 'ben', roles: ['annotator'] });
    await call('POST', '/annotation/submit', { item_id: itemIds[0], value: { label: 'positive' } }, ann);
    const second = await call('POST', '/annotation/submit', { item_id: itemIds[0], value: { label: 'neutral' } }, ben);
    const conflictId = second.conflict.conflict_id as string;

    const expert = await pages.open();
    await pages.devSignIn(expert, 'erin', ['manager']);
    await expert.goto(`${api.baseUrl}/app/conflicts?project=${projectId}`);
    const card = expert.locator(`[data-conflict-id="${conflictId}"]`);
    await card.waitFor();
    await expect(card.getByRole('listitem').allTextContents()).resolves.toEqual(expect.arrayContaining([expect.stringMatching(/ann.*positive/), expect.stringMatching(/ben.*neutral/)]));
    await pages.shot(expert, '3-expert-conflict', 'expert');
    await card.getByRole('radio', { name: 'neutral' }).check();
    await card.getByLabel('Reason').fill('“fine, I guess” is lukewarm: neutral per the guidelines');
    await card.getByRole('button', { name: 'Resolve' }).click();
    await expert.getByTestId('no-conflicts').waitFor();
    await pages.shot(expert, '3-expert-resolved');

    const resolved = await call('GET', `/annotation/conflicts/${projectId}?status=resolved`);
    expect(resolved.items).toEqual([expect.objectContaining({ conflict_id: conflictId, resolved_value: { label: 'neutral' }, resolved_by: 'erin', reason: expect.stringContaining('lukewarm') })]);
    await expert.context().close();
  });

  test('an operator pauses and resumes a job and watches the bar move; the quality view charts the report', async () => {
    const { projectId, itemIds } = await project('Bulk', [['ann', 'annotator'], ['ben', 'annotator'], ['cat', 'annotator']], sentimentTexts(60));
    const engine = crypto.randomUUID();
    await tdb.db('engines').insert({ id: engine, tenant_id: TENANT, name: `slow-${engine.slice(0, 6)}`, provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl, params: JSON.stringify({ cache: false }) });
    fake.setLatency(120);

    const operator = await pages.open();
    await pages.tokenSignIn(operator, manager, `/jobs?project=${projectId}`);
    const job = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: engine, batch_size: 3, concurrency: 1 });
    const row = operator.locator(`[data-job-id="${job.job_id}"]`);
    const bar = row.getByTestId('job-bar');
    const percent = async () => Number(await bar.getAttribute('aria-valuenow'));
    // The job appears and its bar moves, with no reload: job.progress events over the WebSocket.
    await row.waitFor({ timeout: 20_000 });
    await waitFor(percent, (p) => p > 0 && p < 60, 30_000, 'bar moving');
    await pages.shot(operator, '4-operator-running', 'operator');

    await row.getByRole('button', { name: 'Pause' }).click();
    await row.locator('[data-status=paused]').or(operator.locator(`[data-job-id="${job.job_id}"][data-status=paused]`)).first().waitFor({ timeout: 20_000 });
    // The batch in flight when the signal came may still land; then the bar stands still.
    let atPause = -1;
    await waitFor(
      async () => {
        const before = await percent();
        await new Promise((r) => setTimeout(r, 1000));
        return [before, (atPause = await percent())];
      },
      ([before, after]) => before === after,
      20_000,
      'bar settled after the pause',
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(await percent()).toBe(atPause);
    expect(atPause).toBeLessThan(100);
    await expect(row.getByTestId('job-status').textContent()).resolves.toMatch(/paused.*manual/);
    await pages.shot(operator, '4-operator-paused');

    await row.getByRole('button', { name: 'Resume' }).click();
    fake.setLatency(10);
    await waitFor(percent, (p) => p > atPause, 30_000, 'bar moving after resume');
    await operator.locator(`[data-job-id="${job.job_id}"][data-status=completed]`).waitFor({ timeout: 60_000 });
    expect(await percent()).toBe(100);
    await expect(row.getByTestId('job-figures').textContent()).resolves.toMatch(/^60 \/ 60 processed/);
    await expect(row.getByRole('link', { name: /Temporal UI/ }).getAttribute('href')).resolves.toContain(encodeURIComponent(job.workflow_id).slice(0, 10));
    await pages.shot(operator, '4-operator-completed');

    // Three annotators label the items (mostly agreeing); a validation run writes the report the view charts.
    const who = ['ann', 'ben', 'cat'].map((sub) => tokenFor({ tenantId: TENANT, sub, roles: ['annotator'] }));
    const texts = sentimentTexts(60);
    for (let i = 0; i < 24; i++) {
      const truth = LABELS[i % 3];
      for (let a = 0; a < 3; a++) {
        const label = a === 2 && i % 4 === 0 ? LABELS[(i + 1) % 3] : truth;
        await call('POST', '/annotation/submit', { item_id: itemIds[i], value: { label } }, who[a]);
      }
      expect(texts[i]).toContain(truth);
    }
    const validation = await call('POST', '/annotation/validate', { project_id: projectId });
    await waitFor(() => call('GET', `/annotation/jobs/${validation.job_id}`), (j) => j.status === 'completed', 60_000, 'validation completed');
    await operator.goto(`${api.baseUrl}/app/quality?project=${projectId}`);
    await operator.getByTestId('quality-summary').waitFor();
    await operator.getByTestId('heatmap').waitFor();
    await expect(operator.getByTestId('heatmap').locator('rect').count()).resolves.toBe(9);
    await expect(operator.getByTestId('bar-chart').locator('rect').count()).resolves.toBe(3);
    await operator.getByTestId('line-chart').waitFor();
    await pages.shot(operator, '5-quality', 'quality');
    await operator.context().close();
  });

  test('with the WebSocket unreachable, the jobs view says so and polls: the bar still moves to the end', async () => {
    const { projectId } = await project('Polling', [], sentimentTexts(60));
    const engine = crypto.randomUUID();
    await tdb.db('engines').insert({ id: engine, tenant_id: TENANT, name: `poll-${engine.slice(0, 6)}`, provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl, params: JSON.stringify({ cache: false }) });
    fake.setLatency(300);
    // Small batches, so the progress moves in steps a 2 s poll sees; it reaches the page only by polling.
    const job = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: engine, batch_size: 4, concurrency: 2 });
    const operator = await pages.open();
    // Every WebSocket the page opens is refused by the network (a proxy that drops upgrades).
    await operator.context().routeWebSocket(/\/api\/v1\/annotation\/ws/, (ws) => ws.close({ code: 1011, reason: 'blocked by the test' }));
    await pages.tokenSignIn(operator, manager, `/jobs?project=${projectId}`, { live: false });
    await operator.locator('[data-testid=live-state][data-state=closed]').waitFor();
    await expect(operator.getByTestId('live-state').textContent()).resolves.toBe('Offline (polling)');
    const row = operator.locator(`[data-job-id="${job.job_id}"]`);
    await row.waitFor({ timeout: 15_000 });
    const seen = new Set<number>();
    await waitFor(
      async () => {
        seen.add(Number(await row.getByTestId('job-bar').getAttribute('aria-valuenow')));
        return row.getAttribute('data-status');
      },
      (status) => status === 'completed',
      60_000,
      'job completed by polling',
    );
    expect(Number(await row.getByTestId('job-bar').getAttribute('aria-valuenow'))).toBe(100);
    // Polled every 2 s over a job of several seconds: the bar showed it part-way.
    expect([...seen].some((p) => p > 0 && p < 100)).toBe(true);
    await pages.shot(operator, '6-operator-polling');
    fake.setLatency(0);
    await operator.context().close();
  });
});
