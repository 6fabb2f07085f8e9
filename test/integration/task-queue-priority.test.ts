import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { DEV_SERVER_DYNAMIC_CONFIG, startDevServer } from '../../src/temporal/dev-server';
import { PRIORITY_KEYS, workflowPriority } from '../../src/temporal/priority';
import { priorityProbe } from '../fixtures/workflows/priority-probe';

/**
 * The dev server the service runs (`anno dev`, the tests) has task-queue priority and fairness on
 * (DEV_SERVER_DYNAMIC_CONFIG). Evidence on a real backlog: workflows are started with the
 * priorities the service gives them, a workflow-only worker schedules every activity, and then
 * one activity worker with a single slot drains the backlog. The queue hands out the review
 * task's activity first, and a late tenant's tasks interleave with a busy tenant's instead of
 * waiting behind them. (Not saved for the suite replay: the probe workflow is a fixture.)
 */
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH });
});
afterAll(async () => {
  await env?.teardown();
});

test('the dev server runs with priority and fairness on', () => {
  expect(DEV_SERVER_DYNAMIC_CONFIG).toEqual(expect.arrayContaining(['matching.useNewMatcher=true', 'matching.enableFairness=true']));
});

test('a backlogged queue dispatches by priority, then fairly between tenants', async () => {
  const taskQueue = `priority-${Date.now()}`;
  const started: { id: string; label: string }[] = [];
  const start = async (label: string, priority: ReturnType<typeof workflowPriority>) => {
    const id = `${taskQueue}-${started.length}`;
    await env.client.workflow.start(priorityProbe, { taskQueue, workflowId: id, args: [label], priority });
    started.push({ id, label });
  };
  for (let i = 0; i < 12; i++) await start('busy', workflowPriority('batch', 'tenant-busy'));
  for (let i = 0; i < 4; i++) await start('late', workflowPriority('batch', 'tenant-late'));
  await start('review', workflowPriority('review', 'tenant-busy'));

  // Every workflow schedules its activity; nothing runs them yet.
  const workflowsPath = path.resolve(__dirname, '../fixtures/workflows/priority-probe.ts');
  const scheduler = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath });
  await scheduler.runUntil(async () => {
    for (;;) {
      const histories = await Promise.all(started.map((s) => env.client.workflow.getHandle(s.id).fetchHistory()));
      if (histories.every((h) => (h.events ?? []).some((e) => e.activityTaskScheduledEventAttributes))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  const order: string[] = [];
  const drainer = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    activities: { probe: async (label: string) => void order.push(label) },
    maxConcurrentActivityTaskExecutions: 1,
  });
  await drainer.runUntil(async () => {
    while (order.length < started.length) await new Promise((r) => setTimeout(r, 50));
  });
  console.log(`dispatch order (priority ${PRIORITY_KEYS.review} review, ${PRIORITY_KEYS.batch} batch): ${order.join(' ')}`);
  expect(order[0]).toBe('review');
  // Fair shares: the late tenant's 4 tasks are done within the first 2 × 4 + 2 dispatches, not after the busy tenant's 12.
  expect(order.lastIndexOf('late')).toBeLessThanOrEqual(10);
}, 120_000);
