/**
 * Quality validation benchmark: a project of N items × 3 human annotators (from a pool of 10,
 * 80% agreement, 2% gold items, 1% planted near-duplicates) plus one AI annotation per item,
 * validated by the `validation` workflow on a real Temporal dev server and PostgreSQL, with the
 * worker in its own process. Prints the job's wall time and the worker's memory; asserts nothing.
 *
 *   npm run bench:quality -- --items 100000 --page 5000 [--worker-heap-mb 160]
 *   npm run bench:quality -- --conflicts      (20,000 items by default)
 *
 * --conflicts: the project wants 3 annotators per item, so validation's conflict pass opens
 * conflicts for the disagreeing items that need a decision, in item order, up to the project's
 * `conflict_max_per_validation` (--quota, default 1,000), in sets, each with the automatic decision
 * computed against one model fit. After their workflows have run, the unchanged project is
 * validated again, and again, until a validation opens nothing: each run prints the conflicts it
 * opened and deferred, the expert tasks, and how many items were re-opened (none should be).
 *
 * Memory figures are the worker process's (VmRSS / VmHWM of the spawned `anno worker`), not this
 * process's. RSS includes garbage V8 has not collected yet; --worker-heap-mb caps the heap to show
 * what the job really needs (it fails with an out-of-memory error if the cap is too small).
 */
import { parseArgs } from 'node:util';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../src/llm/builtin-engines';
import { loadConfig } from '../../src/config';
import { startValidation } from '../../src/jobs/start-validation';
import { progressQuery as validationProgressQuery } from '../../workflows/validation';
import { resolveTemporalCli } from '../../src/temporal/cli-binary';
import { createTestDatabase } from '../helpers/db';
import { seedProject } from '../helpers/seed';
import { startTestTemporal } from '../helpers/temporal';
import { rssMb, spawnWorkerProcess, stopProcess } from '../helpers/worker-process';

const { values } = parseArgs({
  options: {
    items: { type: 'string' },
    conflicts: { type: 'boolean', default: false },
    /** conflict_max_per_validation of the project (--conflicts). */
    quota: { type: 'string', default: '1000' },
    /** Validations in all (--conflicts), at most: the loop stops earlier once one opens nothing. */
    'max-runs': { type: 'string', default: '12' },
    page: { type: 'string', default: '5000' },
    /** Cap the worker's V8 heap (MB): the job still finishing shows its memory does not grow with N. */
    'worker-heap-mb': { type: 'string' },
  },
});
const CONFLICTS = values.conflicts === true;
const N = Number(values.items ?? (CONFLICTS ? 20000 : 100000));
const PAGE = Number(values.page);
const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function main() {
  process.env.TEMPORAL_CLI_PATH ??= resolveTemporalCli({ log: console.log });
  const [tdb, env] = await Promise.all([createTestDatabase('anno_bench'), startTestTemporal()]);
  try {
    const db = tdb.db;
    const { tenantId, projectId } = await seedProject(db, CONFLICTS ? { routing: { high_confidence_threshold: 0.85, low_confidence_threshold: 0.5, annotators_per_item: 3, conflict_max_per_validation: Number(values.quota) } } : {});
    const warm = await seedProject(db, { tenantId });
    console.log(`bench: ${N} items × 3 human annotators + 1 AI annotation each, page size ${PAGE}${CONFLICTS ? ', conflicts on' : ''}`);

    const s0 = performance.now();
    await db.raw('SELECT setseed(0.42)');
    for (const [pid, n] of [[projectId, N], [warm.projectId, 100]] as const) {
      // Distinct texts (two md5 words), every 100th item a near copy of the one before it.
      await db.raw(
        `INSERT INTO items (id, tenant_id, project_id, external_id, data, gold_label)
         SELECT gen_random_uuid(), ?, ?, 'b-' || g,
                jsonb_build_object('text', CASE WHEN g % 100 = 0
                  THEN 'Review ' || md5((g - 1)::text) || ' about ' || md5(((g - 1) * 7)::text) || '!'
                  ELSE 'review ' || md5(g::text) || ' about ' || md5((g * 7)::text) END),
                CASE WHEN g % 50 = 1 THEN jsonb_build_object('label', (ARRAY['positive','negative','neutral'])[1 + g % 3]) END
           FROM generate_series(1, ?) g`,
        [tenantId, pid, n],
      );
      await db.raw(
        `INSERT INTO annotations (id, tenant_id, project_id, item_id, source, annotator_id, value, status, created_at)
         SELECT gen_random_uuid(), i.tenant_id, i.project_id, i.id, 'human', 'ann-' || ((i.seq + r * 3) % 10),
                jsonb_build_object('label', CASE WHEN random() < 0.8 THEN (ARRAY['positive','negative','neutral'])[1 + i.seq % 3]
                                                 ELSE (ARRAY['positive','negative','neutral'])[1 + floor(random() * 3)::int] END),
                'submitted', now() - ((i.seq % 14) || ' days')::interval
           FROM items i CROSS JOIN generate_series(0, 2) r
          WHERE i.project_id = ?`,
        [pid],
      );
      await db.raw(
        `INSERT INTO annotations (id, tenant_id, project_id, item_id, source, annotator_id, engine_id, value, confidence, status)
         SELECT gen_random_uuid(), i.tenant_id, i.project_id, i.id, 'ai', ?, ?,
                jsonb_build_object('label', CASE WHEN random() < 0.85 THEN (ARRAY['positive','negative','neutral'])[1 + i.seq % 3] ELSE 'neutral' END),
                0.9, CASE WHEN i.seq % 4 = 0 THEN 'needs_review' ELSE 'auto_accepted' END
           FROM items i WHERE i.project_id = ?`,
        [BUILTIN_LOCAL_ENGINE_ID, BUILTIN_LOCAL_ENGINE_ID, pid],
      );
    }
    await db.raw('ANALYZE items; ANALYZE annotations');
    console.log(`seeded in ${seconds(performance.now() - s0)} s`);

    const heap = values['worker-heap-mb'];
    const worker = spawnWorkerProcess({
      TEMPORAL_ADDRESS: env.address,
      DATABASE_URL: tdb.url,
      ...(heap ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${heap}`.trim() } : {}),
    });
    if (heap) console.log(`worker V8 old space capped at ${heap} MB`);
    let jobRssMb = 0;
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling) jobRssMb = Math.max(jobRssMb, rssMb(worker.pid!).now);
    }, 100);
    try {
      const config = loadConfig({ ...process.env });
      // Warm-up: the worker bundles workflow code at start; time the job from its start.
      const w = await startValidation(db, env.client, config, { tenantId, userId: 'bench', projectId: warm.projectId, trigger: 'validate' });
      await env.client.workflow.getHandle(w.workflowId).result();
      const baseMb = rssMb(worker.pid!).now;

      const t0 = performance.now();
      sampling = true;
      const job = await startValidation(db, env.client, config, { tenantId, userId: 'bench', projectId, trigger: 'validate', pageSize: PAGE });
      const result = await env.client.workflow.getHandle(job.workflowId).result();
      const jobMs = performance.now() - t0;
      sampling = false;
      const peakMb = rssMb(worker.pid!).peak;

      // A query of a closed run needs a worker to replay it; busy with thousands of conflict
      // workflows (priority 1, ahead of it) the worker may not answer in time.
      const runs = await env.client.workflow
        .getHandle(job.workflowId)
        .query(validationProgressQuery)
        .then((p) => String(p.runs + 1), () => 'not answered (the worker is busy with conflict workflows)');
      // Time per activity type, from the run's history (scheduled → completed).
      const history = await env.client.workflow.getHandle(job.workflowId).fetchHistory();
      const scheduled = new Map<string, { name: string; at: number }>();
      const perActivity = new Map<string, { n: number; ms: number }>();
      const ms = (t: unknown) => {
        const ts = t as { seconds?: { toNumber?: () => number } | number; nanos?: number };
        const sec = typeof ts.seconds === 'number' ? ts.seconds : (ts.seconds?.toNumber?.() ?? Number(ts.seconds));
        return sec * 1000 + (ts.nanos ?? 0) / 1e6;
      };
      for (const e of history.events ?? []) {
        const id = String(e.eventId);
        if (e.activityTaskScheduledEventAttributes) {
          scheduled.set(id, { name: e.activityTaskScheduledEventAttributes.activityType!.name!, at: ms(e.eventTime) });
        } else if (e.activityTaskCompletedEventAttributes) {
          const s = scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId))!;
          const x = perActivity.get(s.name) ?? { n: 0, ms: 0 };
          x.n++;
          x.ms += ms(e.eventTime) - s.at;
          perActivity.set(s.name, x);
        }
      }
      const row = await db('quality_reports').where({ job_id: job.jobId }).first('report', 'details');
      const kinds = row.details.inconsistencies_by_kind;
      console.log('');
      console.log(`items validated              ${result.items} (${result.items * 3} human + ${result.items} AI annotations)`);
      console.log(`validation wall time         ${seconds(jobMs)} s (POST-equivalent start → workflow result)`);
      console.log(`throughput                   ${(result.items / (jobMs / 1000)).toFixed(0)} items/s`);
      console.log(`krippendorff alpha (nominal) ${row.report.agreement.krippendorff_alpha.nominal?.toFixed(4)}`);
      console.log(`fleiss kappa                 ${row.report.agreement.fleiss_kappa?.toFixed(4)}`);
      console.log(`annotator pairs (cohen)      ${row.report.agreement.cohen_kappa.length}`);
      console.log(`inconsistencies              ${result.inconsistencies} ${JSON.stringify(kinds)}`);
      for (const [name, x] of perActivity) console.log(`  ${name.padEnd(27)} ${x.n} × ${(x.ms / x.n).toFixed(0)} ms = ${seconds(x.ms)} s`);
      console.log(`runs (continue-as-new)       ${runs}`);
      console.log(`history of the last run      ${history.events?.length ?? 0} events`);
      console.log(`worker RSS before the job    ${baseMb.toFixed(0)} MB (worker process, after warm-up)`);
      console.log(`worker RSS during the job    ${jobRssMb.toFixed(0)} MB (worker process; max of samples every 100 ms)`);
      console.log(`worker peak RSS since start  ${peakMb.toFixed(0)} MB (worker process VmHWM; includes bundling workflow code at start-up)`);
      if (CONFLICTS) await repeatValidations(result);

      /**
       * Waits for every conflict workflow's first step, then validates the unchanged project again,
       * until a validation opens nothing (at most --max-runs validations in all).
       */
      async function repeatValidations(first: { conflicts_opened: number; conflicts_deferred?: number }) {
        const counts = async () => {
          const [c] = await db('conflicts').where({ project_id: projectId }).select(
            db.raw('count(*)::int AS conflicts'),
            db.raw("count(*) FILTER (WHERE status = 'auto_resolved')::int AS auto_resolved"),
            db.raw("count(*) FILTER (WHERE status = 'open' AND task_id IS NULL)::int AS undecided"),
          );
          const [{ n }] = await db('tasks').where({ project_id: projectId, kind: 'expert' }).count({ n: '*' });
          return { ...c, tasks: Number(n) };
        };
        const settle = async () => {
          const w0 = performance.now();
          let c = await counts();
          while (c.undecided > 0 && performance.now() - w0 < 300_000) {
            await new Promise((r) => setTimeout(r, 500));
            c = await counts();
          }
          return { ...c, settledMs: performance.now() - w0 };
        };
        const reopenings = async () => {
          const [{ n: reopened }] = await db('audit_log').where({ project_id: projectId, action: 'conflict.reopened' }).count({ n: '*' });
          const [{ n: twice }] = await db
            .from(db('conflicts').where({ project_id: projectId }).groupBy('item_id').havingRaw('count(*) > 1').select('item_id').as('x'))
            .count({ n: '*' });
          return { reopened: Number(reopened), itemsWithTwoConflicts: Number(twice) };
        };
        let state = await settle();
        console.log(`conflicts opened             ${first.conflicts_opened}, deferred ${first.conflicts_deferred ?? 0} (quota ${values.quota} per validation)`);
        console.log(`conflict workflows settled   ${seconds(state.settledMs)} s after the validation: ${JSON.stringify({ ...state, settledMs: undefined })}`);
        for (let run = 2; run <= Number(values['max-runs']); run++) {
          const before = state;
          const t1 = performance.now();
          const again = await startValidation(db, env.client, config, { tenantId, userId: 'bench', projectId, trigger: 'validate', pageSize: PAGE });
          const r = await env.client.workflow.getHandle(again.workflowId).result();
          const ms = performance.now() - t1;
          state = await settle();
          console.log(
            `validation ${String(run).padEnd(2)}                ${seconds(ms)} s, opened ${r.conflicts_opened}, deferred ${r.conflicts_deferred ?? 0}; ` +
              `conflicts ${before.conflicts} → ${state.conflicts}, expert tasks ${before.tasks} → ${state.tasks}, ${JSON.stringify(await reopenings())}`,
          );
          if (r.conflicts_opened === 0) break;
        }
        const [{ n: finals }] = await db('final_labels').where({ project_id: projectId }).count({ n: '*' });
        const sources = await db('final_labels').where({ project_id: projectId }).groupBy('source').select('source').count({ n: '*' });
        console.log(`final labels                 ${finals} ${JSON.stringify(Object.fromEntries(sources.map((x: any) => [x.source, Number(x.n)])))}`);
      }
    } finally {
      clearInterval(sampler);
      await stopProcess(worker);
    }
  } finally {
    await Promise.all([env.teardown(), tdb.drop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
