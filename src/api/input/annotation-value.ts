import { z } from 'zod';

/** An annotation value: `{"label"}` (single_label projects) or `{"labels": [...]}` (multi_label). */
export const AnnotationValueSchema = z.union([
  z.object({ label: z.string() }),
  z.object({ labels: z.array(z.string()) }),
]);
