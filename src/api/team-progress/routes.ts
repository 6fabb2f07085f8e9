import Router from '@koa/router';
import { z } from 'zod';
import type { ApiContextExtras, ApiState } from '../deps';
import { defineRoute } from '../openapi';
import { ProjectParams } from '../projects/schema';
import { findProjectForPrincipal } from '../scope';

export const teamProgressRouter = new Router<ApiState, ApiContextExtras>();

const AnnotatorProgress = z.object({
  annotator_id: z.string(),
  annotations: z.number().int(),
  items: z.number().int(),
  reviews: z.number().int().meta({ description: 'Decisions on review tasks' }),
  mean_lead_time_ms: z.number().nullable(),
  first_at: z.string().nullable(),
  last_at: z.string().nullable(),
  throughput_per_hour: z.number().meta({ description: 'Annotations per hour between the first and last one (at least a one-minute window)' }),
  open_tasks: z.number().int(),
});

export const TeamProgressResponse = z
  .object({
    project_id: z.uuid(),
    computed_at: z.string(),
    items: z.number().int(),
    annotated: z.number().int().meta({ description: 'Items with at least one human annotation' }),
    ai_annotated: z.number().int(),
    reviewed: z.number().int().meta({ description: 'Items decided in a review task' }),
    percent_annotated: z.number(),
    tasks: z.object({
      open: z.number().int(),
      escalated: z.number().int(),
      overdue: z.number().int(),
      completed: z.number().int(),
      cancelled: z.number().int(),
    }),
    conflicts: z.object({ open: z.number().int(), auto_resolved: z.number().int(), resolved: z.number().int() }),
    annotators: z.array(AnnotatorProgress),
  })
  .meta({ id: 'TeamProgress' });

defineRoute(
  teamProgressRouter,
  {
    method: 'get',
    path: '/annotation/progress/:project_id',
    tags: ['tasks'],
    summary: 'Team progress of a project',
    description: 'Computed from the rows: items, human and AI coverage, review decisions, per-annotator counts and throughput, open / overdue tasks, conflicts.',
    request: { params: ProjectParams },
    responses: { 200: { description: 'Team statistics', schema: TeamProgressResponse } },
  },
  async (ctx) => {
    const { db } = ctx.deps;
    const project = await findProjectForPrincipal(db, ctx.state.principal!, ctx.state.input.params.project_id);
    const pid = project.id;
    const [items, coverage, tasks, conflicts, annotators] = await Promise.all([
      db('items').where({ project_id: pid }).count({ n: '*' }).first(),
      db.raw(
        `SELECT count(DISTINCT a.item_id) FILTER (WHERE a.source = 'human' AND a.value IS NOT NULL) AS annotated,
                count(DISTINCT a.item_id) FILTER (WHERE a.source = 'ai' AND a.status <> 'failed') AS ai_annotated,
                count(DISTINCT a.item_id) FILTER (WHERE a.source = 'human' AND t.kind = 'review') AS reviewed
           FROM annotations a LEFT JOIN tasks t ON t.id = a.task_id
          WHERE a.project_id = ?`,
        [pid],
      ),
      db.raw(
        `SELECT count(*) FILTER (WHERE status = 'open') AS open,
                count(*) FILTER (WHERE status = 'escalated') AS escalated,
                count(*) FILTER (WHERE status IN ('open', 'escalated') AND due_at < now()) AS overdue,
                count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status = 'cancelled') AS cancelled
           FROM tasks WHERE project_id = ?`,
        [pid],
      ),
      db.raw(
        `SELECT count(*) FILTER (WHERE status = 'open') AS open,
                count(*) FILTER (WHERE status = 'auto_resolved') AS auto_resolved,
                count(*) FILTER (WHERE status = 'resolved') AS resolved
           FROM conflicts WHERE project_id = ?`,
        [pid],
      ),
      db.raw(
        `WITH h AS (
           SELECT a.annotator_id, a.item_id, a.lead_time_ms, a.created_at, t.kind
             FROM annotations a LEFT JOIN tasks t ON t.id = a.task_id
            WHERE a.project_id = ? AND a.source = 'human'),
         per AS (
           SELECT annotator_id, count(*) AS annotations, count(DISTINCT item_id) AS items,
                  count(*) FILTER (WHERE kind = 'review') AS reviews,
                  avg(lead_time_ms) AS mean_lead_time_ms, min(created_at) AS first_at, max(created_at) AS last_at
             FROM h GROUP BY annotator_id),
         load AS (
           SELECT assignee_id, count(*) AS open_tasks FROM tasks
            WHERE project_id = ? AND status IN ('open', 'escalated') AND assignee_id IS NOT NULL GROUP BY assignee_id)
         SELECT coalesce(per.annotator_id, load.assignee_id) AS annotator_id,
                coalesce(per.annotations, 0) AS annotations, coalesce(per.items, 0) AS items, coalesce(per.reviews, 0) AS reviews,
                per.mean_lead_time_ms, per.first_at, per.last_at, coalesce(load.open_tasks, 0) AS open_tasks
           FROM per FULL OUTER JOIN load ON load.assignee_id = per.annotator_id
          ORDER BY annotations DESC, annotator_id`,
        [pid, pid],
      ),
    ]);
    const c = coverage.rows[0];
    const t = tasks.rows[0];
    const k = conflicts.rows[0];
    const total = Number(items?.n ?? 0);
    const annotated = Number(c.annotated);
    ctx.body = {
      project_id: pid,
      computed_at: new Date().toISOString(),
      items: total,
      annotated,
      ai_annotated: Number(c.ai_annotated),
      reviewed: Number(c.reviewed),
      percent_annotated: total ? Math.round((annotated / total) * 10000) / 100 : 0,
      tasks: { open: Number(t.open), escalated: Number(t.escalated), overdue: Number(t.overdue), completed: Number(t.completed), cancelled: Number(t.cancelled) },
      conflicts: { open: Number(k.open), auto_resolved: Number(k.auto_resolved), resolved: Number(k.resolved) },
      annotators: annotators.rows.map((r: Record<string, any>) => {
        const n = Number(r.annotations);
        const spanMs = r.first_at && r.last_at ? new Date(r.last_at).getTime() - new Date(r.first_at).getTime() : 0;
        const hours = Math.max(spanMs, 60_000) / 3_600_000;
        return {
          annotator_id: r.annotator_id,
          annotations: n,
          items: Number(r.items),
          reviews: Number(r.reviews),
          mean_lead_time_ms: r.mean_lead_time_ms === null ? null : Math.round(Number(r.mean_lead_time_ms)),
          first_at: r.first_at ? new Date(r.first_at).toISOString() : null,
          last_at: r.last_at ? new Date(r.last_at).toISOString() : null,
          throughput_per_hour: n ? Math.round((n / hours) * 100) / 100 : 0,
          open_tasks: Number(r.open_tasks),
        };
      }),
    };
  },
);
