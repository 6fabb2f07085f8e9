import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { conflictDecider } from '../src/annotation/conflict-decisions';
import { dawidSkeneHistory } from '../src/data/human-annotations';
import { scopeItemIds, type ValidationScope } from '../src/data/quality-data';
import { CONFLICT_SET_SIZE, conflictSettings, openConflicts, startConflictWorkflows, unsettledDisagreements } from '../src/tasks/conflicts';

/** Validation's last step, the conflict pass; part of the validation activities (activities/validation.ts). */
export function createConflictPassActivities({ db }: { db: Knex }) {
  return {
    /**
     * The conflict pass: opens a conflict (and its `conflictResolution` workflow) for each item of
     * the scope whose human annotations disagree and that needs a decision — no open conflict, and
     * no resolution decided on all of its current inputs — when the project asks for ≥ 2
     * annotators per item. It scans the scope in item order and opens at most
     * `conflict_max_per_validation` (default 1,000); the rest are counted as `deferred` and the next
     * validation opens them, so re-validating a settled project opens none. The automatic decisions
     * are computed here, against one read of the history and one model fit for the whole run
     * (`conflictDecider`), and travel in the workflows' input, so a conflict workflow reads only its
     * item. Conflicts are opened in sets of CONFLICT_SET_SIZE items: one transaction and a fixed
     * number of statements per set, then the set's workflow starts. A retry scans again: what an
     * earlier attempt opened is open now, and skipped.
     *
     * Runs scheduled before the pass existed carry `itemIds` (validation's disagreement sample)
     * instead of a scope; they open conflicts for those, as they did.
     */
    async openQualityConflicts(input: {
      tenantId: string;
      projectId: string;
      taskQueue: string;
      scope?: ValidationScope;
      pageSize?: number;
      itemIds?: string[];
    }): Promise<{ opened: number; skipped: boolean; deferred?: number }> {
      const project = await db('projects').where({ id: input.projectId, tenant_id: input.tenantId }).first('routing', 'label_schema');
      const settings = project ? conflictSettings(project.routing) : null;
      // The project does not want conflicts (fewer than 2 annotators per item): nothing to do.
      if (!project || !settings || settings.annotatorsPerItem < 2) return { opened: 0, skipped: true };
      const ctx = Context.current();
      let chosen: string[];
      let deferred = 0;
      let resumeFrom = 0;
      if (input.scope) {
        chosen = [];
        const cap = Math.max(0, settings.maxPerValidation);
        for (let afterSeq = -1; ; ) {
          const page = await scopeItemIds(db, { tenantId: input.tenantId, projectId: input.projectId, scope: input.scope, afterSeq, limit: input.pageSize ?? 1000 });
          if (page.lastSeq === null) break;
          afterSeq = page.lastSeq;
          const unsettled = await unsettledDisagreements(db, input.projectId, page.ids);
          const room = cap - chosen.length;
          chosen.push(...unsettled.slice(0, room));
          deferred += Math.max(0, unsettled.length - room);
          ctx.heartbeat({ scanning: afterSeq });
        }
      } else {
        // A retry of an older run resumes after the sets an earlier attempt got through.
        resumeFrom = Number((ctx.info.heartbeatDetails as { done?: number } | undefined)?.done ?? 0);
        chosen = (input.itemIds ?? []).slice(resumeFrom);
      }
      if (!chosen.length) return { opened: 0, skipped: false, deferred };
      const history = await dawidSkeneHistory(db, input.projectId, chosen, settings.dsMinItems);
      const decide = conflictDecider(history, {
        labels: project.label_schema?.type === 'single_label' ? project.label_schema.labels : [],
        minMargin: settings.minMargin,
        dsMinItems: settings.dsMinItems,
      });
      let opened = 0;
      for (let i = 0; i < chosen.length; i += CONFLICT_SET_SIZE) {
        const set = chosen.slice(i, i + CONFLICT_SET_SIZE);
        const conflicts = await db.transaction((trx) => openConflicts(trx, { tenantId: input.tenantId, projectId: input.projectId, itemIds: set, detectedBy: 'validation', decide }));
        await startConflictWorkflows(db, ctx.client, { TEMPORAL_TASK_QUEUE: input.taskQueue }, conflicts);
        opened += conflicts.filter((c) => c.created).length;
        ctx.heartbeat({ done: resumeFrom + i + set.length });
      }
      return { opened, skipped: false, deferred };
    },

  };
}
