import type { Knex } from 'knex';
import { loadPool, mergeExamples } from '../llm/few-shot-pool';
import type { AnnotationValue, LabelledExample, ProjectContext } from '../llm/types';

/** Gold examples a prompt (or the local engine) learns from; bounded to keep prompts small. */
export const MAX_EXAMPLES = 50;

/** What an LLM call needs to know about a project, read in one place. */
export async function loadProjectContext(
  db: Knex,
  tenantId: string,
  projectId: string,
): Promise<ProjectContext & { routing: Record<string, unknown> }> {
  const project = await db('projects').where({ id: projectId, tenant_id: tenantId }).first();
  if (!project) throw new Error(`project ${projectId} not found for tenant ${tenantId}`);
  const gold: { data: { text?: string }; gold_label: AnnotationValue }[] = await db('items')
    .where({ project_id: projectId })
    .whereNotNull('gold_label')
    .orderBy('seq')
    .limit(MAX_EXAMPLES)
    .select('data', 'gold_label');
  // Accepted and corrected suggestions (the feedback pool) first, then gold; deduplicated, bounded.
  const examples: LabelledExample[] = mergeExamples(
    await loadPool(db, projectId),
    gold.filter((g) => typeof g.data?.text === 'string').map((g) => ({ text: g.data.text as string, value: g.gold_label })),
    MAX_EXAMPLES,
  );
  return {
    tenantId,
    projectId,
    labelSchema: project.label_schema,
    guidelines: project.guidelines,
    examples,
    routing: project.routing ?? {},
  };
}
