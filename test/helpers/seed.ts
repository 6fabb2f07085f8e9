import crypto from 'node:crypto';
import type { Knex } from 'knex';

/** Direct database seeding for tests that exercise workflows below the API. */
export async function seedProject(
  db: Knex,
  opts: {
    tenantId?: string;
    labels?: string[];
    routing?: Record<string, unknown>;
    guidelines?: string;
  } = {},
): Promise<{ tenantId: string; projectId: string }> {
  const tenantId = opts.tenantId ?? `t-${crypto.randomBytes(3).toString('hex')}`;
  await db('tenants').insert({ id: tenantId }).onConflict('id').ignore();
  const projectId = crypto.randomUUID();
  await db('projects').insert({
    id: projectId,
    tenant_id: tenantId,
    name: 'Sentiment',
    label_schema: JSON.stringify({ type: 'single_label', labels: opts.labels ?? ['positive', 'negative', 'neutral'] }),
    guidelines: opts.guidelines ?? null,
    routing: JSON.stringify(opts.routing ?? { high_confidence_threshold: 0.85, low_confidence_threshold: 0.5 }),
    created_by: 'seed',
  });
  return { tenantId, projectId };
}

export async function seedItems(db: Knex, tenantId: string, projectId: string, texts: string[]): Promise<string[]> {
  const rows = texts.map((text) => ({ id: crypto.randomUUID(), tenant_id: tenantId, project_id: projectId, data: JSON.stringify({ text }) }));
  for (let i = 0; i < rows.length; i += 1000) await db('items').insert(rows.slice(i, i + 1000));
  return rows.map((r) => r.id);
}

const WORDS = {
  positive: ['great', 'love', 'excellent', 'positive', 'wonderful'],
  negative: ['awful', 'hate', 'terrible', 'negative', 'broken'],
  neutral: ['okay', 'neutral', 'average', 'fine', 'ordinary'],
};
/** Texts whose sentiment word makes the expected label obvious to any reasonable engine. */
export function sentimentTexts(n: number): string[] {
  const labels = Object.keys(WORDS) as (keyof typeof WORDS)[];
  return Array.from({ length: n }, (_, i) => {
    const label = labels[i % 3];
    return `item ${i}: this is ${WORDS[label][i % 5]} and ${label}`;
  });
}
