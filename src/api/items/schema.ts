import { z } from 'zod';
import { FinalLabelSchema } from '../final-labels/schema';
import { paginationQuery } from '../middleware/pagination';
import type { LabelSchemaValue } from '../projects/schema';

/** More in one request is a 413: split the import. */
export const MAX_ITEMS_PER_REQUEST = 100_000;

export const ItemData = z
  .looseObject({ text: z.string().max(1_000_000) })
  .meta({ id: 'ItemData', description: 'The item to annotate: `text` plus any other fields, kept as given' });

const ExternalId = z.string().min(1).max(512).meta({ description: 'Your id; unique per project (duplicates are skipped)' });

const unique = (values: string[]) => new Set(values).size === values.length;

/** What a gold label must look like for this project's label schema. */
export function goldLabelSchema(labelSchema: LabelSchemaValue) {
  const label = z.enum(labelSchema.labels as [string, ...string[]]);
  return labelSchema.type === 'single_label'
    ? z.strictObject({ label })
    : z.strictObject({ labels: z.array(label).refine(unique, 'labels must be unique') });
}

/** One item to import, validated against the project it goes into. */
export function itemInputSchema(labelSchema: LabelSchemaValue) {
  return z.object({
    external_id: ExternalId.nullish(),
    data: ItemData,
    gold_label: goldLabelSchema(labelSchema).nullish(),
  });
}

export type ItemInputValue = z.output<ReturnType<typeof itemInputSchema>>;

export function importBodySchema(labelSchema: LabelSchemaValue) {
  return z.object({ items: z.array(itemInputSchema(labelSchema)).min(1) });
}

// --- documentation shapes (the project-specific schemas above do the validating) ---------

const GoldLabel = z
  .union([z.object({ label: z.string() }), z.object({ labels: z.array(z.string()) })])
  .meta({ id: 'GoldLabel', description: '`{"label"}` for single_label projects, `{"labels": [...]}` for multi_label' });

export const ItemInput = z
  .object({ external_id: ExternalId.nullish(), data: ItemData, gold_label: GoldLabel.nullish() })
  .meta({ id: 'ItemInput' });

export const ImportItemsBody = z
  .object({ items: z.array(ItemInput).min(1).max(MAX_ITEMS_PER_REQUEST) })
  .meta({ id: 'ImportItems' });

export const ImportItemsResponse = z
  .object({
    inserted: z.number().int(),
    duplicates: z.number().int().meta({ description: 'Items skipped because their external_id already exists (or repeats in the request)' }),
    item_ids: z.array(z.uuid()).meta({ description: 'Ids of the inserted items, in request order' }),
  })
  .meta({ id: 'ImportItemsResult' });

export const ItemResponse = z
  .object({
    id: z.uuid(),
    project_id: z.uuid(),
    external_id: z.string().nullable(),
    data: ItemData,
    gold_label: GoldLabel.nullable(),
    created_at: z.string().meta({ format: 'date-time' }),
    final_label: FinalLabelSchema.nullable().meta({ description: 'The item’s final label and its provenance; null while nothing decided it' }),
  })
  .meta({ id: 'Item' });

export const ListItemsQuery = paginationQuery.extend({
  external_id: z.string().min(1).max(512).optional().meta({ description: 'Only the item with this external_id' }),
  id: z.uuid().optional().meta({ description: 'Only the item with this id (e.g. to read its current final label)' }),
});
