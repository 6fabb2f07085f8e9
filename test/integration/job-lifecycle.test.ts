import crypto from 'node:crypto';
import { PRE_ANNOTATION_JOB_TYPE, VALIDATION_JOB_TYPE } from '../../src/jobs/job-types';
import { createJobRow, finishJob, recordJobProgress, StartJobRejected, type NewJob } from '../../src/jobs/lifecycle';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { jobsCompletedCount } from '../helpers/job-metrics';
import { seedItems, seedProject } from '../helpers/seed';

/** The job lifecycle's database side (src/jobs/lifecycle), below the workflows: start row, progress, finish. */
let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});

function newJob(tenantId: string, projectId: string, type: NewJob['type'] = PRE_ANNOTATION_JOB_TYPE): NewJob {
  const id = crypto.randomUUID();
  return { id, tenantId, projectId, type, workflowId: `test/${id}`, createdBy: 'u1', params: { p: 1 } };
}

test('explicit ids: one row with its snapshot in the given order, duplicates dropped, and the total', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const [a, b, c] = await seedItems(tdb.db, tenantId, projectId, ['one', 'two', 'three']);
  const job = newJob(tenantId, projectId);
  expect(await createJobRow(tdb.db, job, { kind: 'ids', itemIds: [c, a, c, b] })).toEqual({ status: 'pending', total: 3 });
  const row = await tdb.db('jobs').where({ id: job.id }).first();
  expect(row).toMatchObject({ status: 'pending', type: PRE_ANNOTATION_JOB_TYPE, params: { p: 1 }, progress: { total: 3, processed: 0 }, run_id: null });
  expect(await tdb.db('job_items').where({ job_id: job.id }).orderBy('seq').select('seq', 'item_id')).toEqual([
    { seq: 0, item_id: c },
    { seq: 1, item_id: a },
    { seq: 2, item_id: b },
  ]);
});

test('explicit ids not all in the project: nothing is written, the refusal names item_ids and the missing ids', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const other = await seedProject(tdb.db, { tenantId });
  const [mine] = await seedItems(tdb.db, tenantId, projectId, ['mine']);
  const [theirs] = await seedItems(tdb.db, tenantId, other.projectId, ['theirs']);
  const job = newJob(tenantId, projectId);
  const refused = await createJobRow(tdb.db, job, { kind: 'ids', itemIds: [mine, theirs] }).catch((e) => e);
  expect(refused).toBeInstanceOf(StartJobRejected);
  expect(refused.field).toBe('item_ids');
  expect(refused.message).toBe(`1 item(s) not found in this project, e.g. ${theirs}`);
  expect(await tdb.db('jobs').where({ id: job.id }).first()).toBeUndefined();
  expect(await tdb.db('job_items').where({ job_id: job.id })).toEqual([]);
});

test('unannotated: the items with no AI annotation yet, in insertion order', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const ids = await seedItems(tdb.db, tenantId, projectId, ['a', 'b', 'c', 'd']);
  await tdb.db('annotations').insert({
    id: crypto.randomUUID(), tenant_id: tenantId, project_id: projectId, item_id: ids[1], source: 'ai',
    annotator_id: 'engine', value: JSON.stringify({ label: 'x' }), status: 'auto_accepted',
  });
  const job = newJob(tenantId, projectId);
  expect(await createJobRow(tdb.db, job, { kind: 'unannotated' })).toEqual({ status: 'pending', total: 3 });
  expect(await tdb.db('job_items').where({ job_id: job.id }).orderBy('seq').pluck('item_id')).toEqual([ids[0], ids[2], ids[3]]);
});

test('progress records the reporting run; finish writes row and event once and counts the job once', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const job = newJob(tenantId, projectId, VALIDATION_JOB_TYPE);
  await createJobRow(tdb.db, { ...job, progress: {} }, { kind: 'none' });
  const reporting = { tenantId, projectId, jobId: job.id, jobType: VALIDATION_JOB_TYPE } as const;
  await recordJobProgress(tdb.db, { ...reporting, status: 'running', runId: 'run-1' }, { total: 4, processed: 2 });
  await recordJobProgress(tdb.db, { ...reporting, status: 'running', runId: 'run-2' }, { total: 4, processed: 3 });
  expect(await tdb.db('jobs').where({ id: job.id }).first('run_id', 'progress')).toEqual({ run_id: 'run-2', progress: { total: 4, processed: 3 } });

  const before = await jobsCompletedCount(VALIDATION_JOB_TYPE, 'completed');
  const outcome = { status: 'completed' as const, progress: { total: 4, processed: 4 }, result: { items: 4 }, details: { items: 4 } };
  expect(await finishJob(tdb.db, { ...reporting, runId: 'run-3' }, outcome)).toBe(true);
  expect(await finishJob(tdb.db, { ...reporting, runId: 'run-3' }, outcome)).toBe(false); // an activity retry
  expect(await jobsCompletedCount(VALIDATION_JOB_TYPE, 'completed')).toBe(before + 1);
  const row = await tdb.db('jobs').where({ id: job.id }).first();
  expect(row).toMatchObject({ status: 'completed', run_id: 'run-3', progress: { total: 4, processed: 4 }, result: { items: 4 }, error: null });
  expect(row.completed_at).not.toBeNull();
  const events = await tdb.db('events').where({ type: 'job.completed' }).whereRaw("payload->>'job_id' = ?", [job.id]);
  expect(events.map((e) => e.payload)).toEqual([{ job_id: job.id, job_type: VALIDATION_JOB_TYPE, status: 'completed', items: 4 }]);

  // Ended from outside (an operator's cancel of a stalled job) after it finished: nothing changes, no audit entry.
  const late = await finishJob(tdb.db, reporting, { status: 'cancelled', error: 'late', details: { error: 'late' } }, { actor: 'u1', action: 'job.terminated', details: {} });
  expect(late).toBe(false);
  expect((await tdb.db('jobs').where({ id: job.id }).first()).status).toBe('completed');
  expect(await tdb.db('audit_log').where({ entity_id: job.id })).toEqual([]);
});

test('ended from outside while open: cancelled, with its audit entry and event', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const job = newJob(tenantId, projectId);
  await createJobRow(tdb.db, job, { kind: 'unannotated' });
  const reporting = { tenantId, projectId, jobId: job.id, jobType: PRE_ANNOTATION_JOB_TYPE } as const;
  const ended = await finishJob(tdb.db, reporting, { status: 'cancelled', error: 'stuck', details: { error: 'stuck' } }, { actor: 'u1', action: 'job.terminated', details: { reason: 'stuck' } });
  expect(ended).toBe(true);
  expect(await tdb.db('jobs').where({ id: job.id }).first()).toMatchObject({ status: 'cancelled', error: 'stuck' });
  expect(await tdb.db('audit_log').where({ entity_id: job.id }).select('actor', 'action', 'entity_type', 'details')).toEqual([
    { actor: 'u1', action: 'job.terminated', entity_type: 'job', details: { reason: 'stuck' } },
  ]);
});
