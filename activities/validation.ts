import crypto from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { appendEvent } from '../src/events/outbox';
import { schedulingRunId } from './run-id';
import { createConflictPassActivities } from './validation-conflicts';
import { VALIDATION_JOB_TYPE } from '../src/jobs/job-types';
import { finishJob, recordJobProgress } from '../src/jobs/lifecycle';
import { detectAiDisagreement } from '../src/quality/ai-disagreement';
import { detectDrift } from '../src/quality/drift';
import { NearDuplicateIndex } from '../src/quality/near-duplicates';
import { measurementLevel } from '../src/quality/measurement-level';
import { DEFAULT_QUALITY_THRESHOLDS, evaluateThresholds, resolveQualityThresholds, type QualityAlert, type QualityThresholds } from '../src/quality/quality-thresholds';
import { accumulateItems, finalizeMetrics } from '../src/quality/report-accumulate';
import type { QualityPartial } from '../src/quality/report-partial';
import {
  finalLabels,
  insertInconsistencies,
  loadQualityPage,
  suggestionFeedback,
  type InconsistencyRow,
  type PageQuery,
  type ValidationScope,
} from '../src/data/quality-data';

export { loadQualityPage, type ValidationScope };

export interface ValidationDeps {
  db: Knex;
  /** Default `min_pairable_values` (QUALITY_MIN_PAIRABLE_VALUES); a project's thresholds override it. */
  qualityMinPairableValues?: number;
}

export interface StartValidationResult {
  total: number;
  /** The first seq of each page of `pageSize` items in scope; page i is pageStarts[i] ≤ seq < pageStarts[i + 1]. */
  pageStarts: number[];
  startedAt: string;
  labels: string[];
  thresholds: QualityThresholds;
}

export interface WriteReportResult {
  reportId: string;
  passed: boolean;
  alerts: QualityAlert[];
  inconsistencies: number;
  disagreeingItems: string[];
}

/** Validation activities, built from their dependencies. Every write is keyed by the job. */
export function createValidationActivities(deps: ValidationDeps) {
  const { db } = deps;
  const defaults: QualityThresholds = { ...DEFAULT_QUALITY_THRESHOLDS, min_pairable_values: deps.qualityMinPairableValues ?? DEFAULT_QUALITY_THRESHOLDS.min_pairable_values };

  return {
    ...createConflictPassActivities({ db }),
    /** Marks the job running; reads the project's labels and thresholds; counts the items in scope. */
    async startValidationJob(input: { tenantId: string; projectId: string; jobId: string; scope: ValidationScope; pageSize: number }): Promise<StartValidationResult> {
      const project = await db('projects').where({ id: input.projectId, tenant_id: input.tenantId }).first();
      if (!project) throw new Error(`project ${input.projectId} not found`);
      // Page boundaries: the seq of every pageSize-th item, so that pages are dense (items.seq is
      // shared by every project) and can run side by side; and the count. One index-only scan.
      const { rows: starts } = await db.raw(
        input.scope.kind === 'project'
          ? `SELECT seq, n FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rn, count(*) OVER () AS n FROM items WHERE project_id = ? AND tenant_id = ?) s
              WHERE (rn - 1) % ? = 0 ORDER BY seq`
          : `SELECT seq, n FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rn, count(*) OVER () AS n FROM job_items WHERE job_id = ?) s
              WHERE (rn - 1) % ? = 0 ORDER BY seq`,
        input.scope.kind === 'project' ? [input.projectId, input.tenantId, input.pageSize] : [input.scope.jobId, input.pageSize],
      );
      const total = starts.length ? Number(starts[0].n) : 0;
      const runId = schedulingRunId();
      const [job] = await db('jobs')
        .where({ id: input.jobId })
        .update({
          status: 'running',
          started_at: db.raw('COALESCE(started_at, now())'),
          progress: JSON.stringify({ total, processed: 0, phase: 'metrics' }),
          ...(runId ? { run_id: runId } : {}),
          updated_at: db.fn.now(),
        })
        .returning(['started_at']);
      if (!job) throw new Error(`job ${input.jobId} not found`);
      return {
        total,
        pageStarts: (starts as { seq: string | number }[]).map((r) => Number(r.seq)),
        startedAt: new Date(job.started_at).toISOString(),
        labels: Array.isArray(project.label_schema?.labels) ? project.label_schema.labels.map(String) : [],
        thresholds: resolveQualityThresholds(project, defaults),
      };
    },

    /** The partial metrics of the items with fromSeq ≤ seq < toSeq (pure read: a retry gives the same answer). */
    async accumulateQualityPage(
      input: Omit<PageQuery, 'afterSeq' | 'limit' | 'beforeSeq'> & { fromSeq: number; toSeq: number; labels: string[]; driftWindowMs: number; sampleLimit?: number },
    ): Promise<{ partial: QualityPartial; count: number }> {
      const items = await loadQualityPage(db, { ...input, afterSeq: input.fromSeq - 1, beforeSeq: input.toSeq });
      const partial = accumulateItems(items, { labels: input.labels, driftWindowMs: input.driftWindowMs, sampleLimit: input.sampleLimit });
      return { partial, count: items.length };
    },

    /** Job row and outbox in step with the workflow (monotonic). */
    async recordValidationProgress(input: { tenantId: string; projectId: string; jobId: string; total: number; processed: number; phase: string }): Promise<void> {
      const progress = { total: input.total, processed: input.processed, phase: input.phase };
      await recordJobProgress(db, { ...input, jobType: VALIDATION_JOB_TYPE, runId: schedulingRunId(), status: 'running' }, progress, `${input.phase}:${input.processed}`);
    },

    /**
     * Near-duplicate items (MinHash/LSH over normalized text) whose final labels differ. Streams
     * the scope page by page (heartbeating), keeps 128 bytes of signature per labelled item, and
     * writes each pair once per job. Items with no final label (no gold, no human annotation) are left out.
     * A retry starts over (the index lives in memory; rebuilding it takes seconds) and its writes are idempotent.
     */
    async detectNearDuplicates(input: {
      tenantId: string;
      projectId: string;
      jobId: string;
      scope: ValidationScope;
      labels: string[];
      similarity: number;
      pageSize: number;
    }): Promise<{ found: number; indexed: number }> {
      const ctx = Context.current();
      const index = new NearDuplicateIndex({ threshold: input.similarity });
      const ids: string[] = [];
      const labelOf: string[] = [];
      let afterSeq = -1;
      const load = (after: number) => loadQualityPage(db, { ...input, afterSeq: after, limit: input.pageSize }, true);
      let pending = load(afterSeq);
      for (;;) {
        const page = await pending;
        if (page.length === 0) break;
        // Fetch the next page while this one is hashed (database time overlaps CPU time).
        const last = page[page.length - 1].seq;
        pending = page.length < input.pageSize ? Promise.resolve([]) : load(last);
        const finals = finalLabels(page, input.labels);
        for (const item of page) {
          const label = finals.get(item.itemId);
          if (label === undefined || !item.text) continue;
          index.add(item.text);
          ids.push(item.itemId);
          labelOf.push(label);
        }
        afterSeq = last;
        ctx.heartbeat({ afterSeq });
      }
      const pairs = index.pairs((a, b) => labelOf[a] !== labelOf[b]);
      const rows: InconsistencyRow[] = pairs.map((p) => {
        const [a, b] = ids[p.a] < ids[p.b] ? [p.a, p.b] : [p.b, p.a];
        return {
          kind: 'near_duplicate',
          item_ids: [ids[a], ids[b]],
          details: { similarity: p.similarity, labels: { [ids[a]]: labelOf[a], [ids[b]]: labelOf[b] } },
          severity: p.similarity >= 0.95 ? 'high' : 'medium',
          dedupe_key: `near_duplicate:${ids[a]}:${ids[b]}`,
        };
      });
      await insertInconsistencies(db, input, rows);
      return { found: rows.length, indexed: ids.length };
    },

    /**
     * Finishes the statistics, detects drift and systematic AI disagreement, and writes the report
     * (one per job: a retry returns the stored one). Returns the alerts to raise.
     */
    async writeQualityReport(input: {
      tenantId: string;
      projectId: string;
      jobId: string;
      scope: ValidationScope;
      partial: QualityPartial;
      labels: string[];
      thresholds: QualityThresholds;
    }): Promise<WriteReportResult> {
      // A run started before thresholds had min_pairable_values carries none: the default applies.
      const thresholds: QualityThresholds = { ...input.thresholds, min_pairable_values: input.thresholds.min_pairable_values ?? defaults.min_pairable_values };
      // The level of measurement is the schema's (the API validates it; a project's schema does not change).
      const project = await db('projects').where({ id: input.projectId, tenant_id: input.tenantId }).first('label_schema');
      const level = measurementLevel(project?.label_schema);
      // Live suggestions the annotators gave feedback on count as AI decisions too (accept vs reject/modify).
      const feedback = await suggestionFeedback(db, input);
      const partial: QualityPartial = { ...input.partial, engines: { ...input.partial.engines } };
      for (const f of feedback) {
        const e = (partial.engines[f.engine_id] = { ...(partial.engines[f.engine_id] ?? { annotations: 0, failed: 0, accepted: 0, rejected: 0, pending: 0, confusion: {} }) });
        e.accepted += f.accepted;
        e.rejected += f.rejected;
      }
      const metrics = finalizeMetrics(partial, input.labels, { level, minPairableValues: thresholds.min_pairable_values });
      const drift = detectDrift(input.partial.drift, {
        minItems: thresholds.drift.min_items,
        minDrop: thresholds.drift.min_drop,
        minZ: thresholds.drift.min_z,
      });
      const windowMs = thresholds.drift.window_hours * 3_600_000;
      const ai = detectAiDisagreement(
        Object.fromEntries(Object.entries(input.partial.engines).map(([id, e]) => [id, e.confusion])),
        { minItems: thresholds.ai_disagreement.min_items, minRate: thresholds.ai_disagreement.min_rate },
      );
      await insertInconsistencies(db, input, [
        ...drift.map((d) => ({
          kind: 'annotator_drift' as const,
          item_ids: [],
          annotator_id: d.annotatorId,
          details: {
            before: d.before,
            latest: { ...d.latest, window_start: new Date(d.latest.window * windowMs).toISOString(), window_hours: thresholds.drift.window_hours },
            drop: d.drop,
            z: d.z,
          },
          severity: d.severity,
          dedupe_key: `annotator_drift:${d.annotatorId}`,
        })),
        ...ai.map((f) => ({
          kind: 'ai_human_disagreement' as const,
          item_ids: [],
          label: f.label,
          details: {
            engine_id: f.engineId,
            direction: f.direction,
            items: f.items,
            disagreements: f.disagreements,
            rate: f.rate,
            most_common_other: f.mostCommonOther,
          },
          severity: f.severity,
          dedupe_key: `ai_human_disagreement:${f.engineId}:${f.direction}:${f.label}`,
        })),
      ]);
      const [{ count }] = await db('inconsistencies').where({ job_id: input.jobId }).count({ count: '*' });
      const inconsistencies = Number(count);

      // α is judged at the schema's level; a metric on too few values is reported, not alerted on.
      const alerts = evaluateThresholds(
        {
          krippendorff_alpha: metrics.agreement.krippendorff_alpha.value,
          fleiss_kappa: metrics.agreement.fleiss_kappa,
          percent_agreement: metrics.agreement.percent_agreement,
          ai_accuracy_vs_final: metrics.ai.accuracy_vs_final,
          ai_acceptance_rate: metrics.ai.acceptance_rate,
        },
        thresholds,
        Object.fromEntries(Object.entries(metrics.evidence.metrics).map(([m, e]) => [m, e.values])),
      );
      const passed = !alerts.some((a) => a.severity === 'alert');
      const computedAt = new Date().toISOString();
      // Exactly the fields of API.md's quality report; the rest goes to `details` (dashboards).
      const report = {
        project_id: input.projectId,
        computed_at: computedAt,
        agreement: metrics.agreement,
        annotators: metrics.annotators.map((a) => ({
          annotator_id: a.annotator_id,
          items: a.items,
          gold_accuracy: a.gold_accuracy,
          agreement_with_consensus: a.agreement_with_consensus,
        })),
        ai: metrics.ai,
        inconsistencies,
        label_distribution: metrics.label_distribution,
        evidence: metrics.evidence,
        thresholds,
        passed,
      };
      const details = {
        coverage: metrics.coverage,
        annotators: metrics.annotators,
        alerts,
        drift_windows: input.partial.drift,
        suggestion_feedback: feedback,
        inconsistencies_by_kind: Object.fromEntries(
          ((await db('inconsistencies').where({ job_id: input.jobId }).groupBy('kind').select('kind').count({ count: '*' })) as { kind: string; count: string }[]).map(
            (r) => [r.kind, Number(r.count)],
          ),
        ),
      };
      const reportId = crypto.randomUUID();
      await db('quality_reports')
        .insert({
          id: reportId,
          tenant_id: input.tenantId,
          project_id: input.projectId,
          job_id: input.jobId,
          computed_at: computedAt,
          scope: JSON.stringify(input.scope),
          report: JSON.stringify(report),
          details: JSON.stringify(details),
          passed,
        })
        .onConflict('job_id')
        .ignore();
      const stored = await db('quality_reports').where({ job_id: input.jobId }).first('id', 'passed', 'details');
      await db('inconsistencies').where({ job_id: input.jobId }).update({ report_id: stored.id });
      return {
        reportId: stored.id,
        passed: stored.passed,
        alerts: (stored.details?.alerts as QualityAlert[]) ?? alerts,
        inconsistencies,
        disagreeingItems: input.partial.disagreeingSample,
      };
    },

    /** One quality_alerts row and one `quality.alert` event per (report, metric), however often retried. */
    async raiseQualityAlerts(input: { tenantId: string; projectId: string; jobId: string; reportId: string; alerts: QualityAlert[] }): Promise<{ emitted: number }> {
      let emitted = 0;
      for (const a of input.alerts) {
        await db('quality_alerts')
          .insert({
            id: crypto.randomUUID(),
            tenant_id: input.tenantId,
            project_id: input.projectId,
            report_id: input.reportId,
            metric: a.metric,
            severity: a.severity,
            value: a.value,
            threshold: a.threshold,
          })
          .onConflict(['report_id', 'metric'])
          .ignore();
        const eventId = await appendEvent(db, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          type: 'quality.alert',
          payload: { report_id: input.reportId, job_id: input.jobId, metric: a.metric, value: a.value, threshold: a.threshold, severity: a.severity },
          dedupeKey: `quality.alert:${input.reportId}:${a.metric}`,
        });
        if (eventId) {
          emitted++;
          await db('quality_alerts').where({ report_id: input.reportId, metric: a.metric }).update({ event_id: eventId });
        }
      }
      return { emitted };
    },

    async finishValidationJob(input: {
      tenantId: string;
      projectId: string;
      jobId: string;
      status: 'completed' | 'failed';
      total: number;
      processed: number;
      result: Record<string, unknown>;
      error?: string;
    }): Promise<void> {
      const progress = { total: input.total, processed: input.processed, phase: 'done' };
      await finishJob(
        db,
        { tenantId: input.tenantId, projectId: input.projectId, jobId: input.jobId, jobType: VALIDATION_JOB_TYPE, runId: schedulingRunId() },
        { status: input.status, progress, result: input.result, error: input.error ?? null, details: { ...progress, ...input.result } },
      );
    },
  };
}

export type ValidationActivities = ReturnType<typeof createValidationActivities>;
