import { z } from 'zod';
import { paginationQuery } from '../middleware/pagination';

export const ListAuditQuery = paginationQuery.extend({
  project_id: z.uuid().optional().meta({ description: 'Only this project’s entries (another tenant’s project is a 404)' }),
  entity: z.string().min(1).max(100).optional().meta({ description: 'Entity type: project, item, task, conflict, job, engine, routing, annotation, …' }),
  entity_id: z.string().min(1).max(200).optional(),
  item_id: z.uuid().optional().meta({ description: 'Entries about this item: the item itself, and entries whose details name it (submissions, task decisions, conflicts)' }),
  actor: z.string().min(1).max(200).optional().meta({ description: 'A user id, or `system` for workflow decisions' }),
  action: z.string().min(1).max(100).optional().meta({ description: 'e.g. conflict.resolved, task.reassigned, job.paused' }),
  since: z.iso.datetime({ offset: true }).optional().meta({ description: 'Entries at or after this time (ISO 8601)' }),
});

export const AuditEntryResponse = z
  .object({
    id: z.string().meta({ description: 'Increasing with time (a bigint as a string)' }),
    project_id: z.uuid().nullable(),
    item_id: z.uuid().optional().meta({ description: 'Entries about this item: the item itself, and entries whose details name it (submissions, task decisions, conflicts)' }),
  actor: z.string().meta({ description: 'Who: a user id, or `system` (a workflow decision)' }),
    action: z.string().meta({ description: 'What, e.g. annotation.submitted, conflict.auto_resolved, task.escalated, job.paused' }),
    entity: z.string().meta({ description: 'The entity type' }),
    entity_id: z.string(),
    details: z.record(z.string(), z.unknown()).meta({ description: 'Why and how: values before and after, reasons, methods, inputs' }),
    created_at: z.string(),
  })
  .meta({ id: 'AuditEntry' });
