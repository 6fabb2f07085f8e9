import { z } from 'zod';

export const EXPORT_FORMATS = ['jsonl', 'csv', 'label-studio'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const ExportQuery = z.object({
  format: z.enum(EXPORT_FORMATS).default('jsonl').meta({
    description: '`jsonl`: one item object a line; `csv`: one item a row (RFC 4180); `label-studio`: a JSON array of Label Studio tasks',
  }),
  labels: z.enum(['final', 'all']).default('final').meta({
    description: '`final`: each item with its final label and provenance; `all`: also every annotation (AI with engine and confidence, humans with annotator and status)',
  }),
});

const ExportAnnotation = z.object({
  annotation_id: z.string(),
  source: z.enum(['ai', 'human']),
  annotator_id: z.string().meta({ description: 'The user id (human) or the engine id (AI)' }),
  engine_id: z.string().nullable(),
  value: z.unknown().nullable(),
  confidence: z.number().nullable(),
  status: z.string(),
  task_id: z.string().nullable(),
  created_at: z.string(),
});

/** One line of `format=jsonl` (the whole document describes a line: the body is NDJSON). */
export const ExportJsonlLine = z
  .object({
    item_id: z.uuid(),
    external_id: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    gold_label: z.unknown().nullable(),
    created_at: z.string(),
    final_label: z.unknown().nullable().meta({ description: 'A FinalLabel (status, value, source, method, decided_by, decided_at, conflict_id, engine_id, confidence, inputs, details); null while nothing decided the item' }),
    annotations: z.array(ExportAnnotation).optional().meta({ description: 'With `labels=all` only, oldest first' }),
  })
  .meta({ id: 'ExportLine' });

const LabelStudioResult = z.object({ from_name: z.string(), to_name: z.string(), type: z.literal('choices'), value: z.object({ choices: z.array(z.string()) }) });

/** `format=label-studio`: a JSON array of Label Studio tasks. */
export const LabelStudioExport = z
  .array(
    z.object({
      id: z.number().int().meta({ description: 'The item’s import sequence number' }),
      data: z.record(z.string(), z.unknown()).meta({ description: 'The item’s data (`text`, …)' }),
      meta: z.object({ item_id: z.uuid(), external_id: z.string().nullable() }),
      predictions: z.array(z.object({ model_version: z.string(), score: z.number().nullable(), result: z.array(LabelStudioResult), created_at: z.string() })),
      annotations: z.array(
        z.object({
          completed_by: z.string(),
          ground_truth: z.boolean().meta({ description: 'true: the final label' }),
          result: z.array(LabelStudioResult),
          created_at: z.string(),
          meta: z.record(z.string(), z.unknown()),
        }),
      ),
    }),
  )
  .meta({ id: 'LabelStudioExport' });

/** `format=csv`: text, a header row then one row an item. */
export const CsvExport = z.string().meta({ description: 'RFC 4180 CSV with a header row' });
