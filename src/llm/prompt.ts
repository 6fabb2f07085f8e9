import type { AnnotationValue, LabelSchema, LabelledExample, ProjectContext } from './types';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface BuildMessagesInput {
  project: ProjectContext;
  item: { id?: string; text: string };
  instructions?: string;
}

/**
 * The chat prompt for a classification: a system message with the task, the label set, the
 * schema type, the guidelines and any extra instructions; each few-shot example as a
 * user/assistant pair; the item text as the last user message (verbatim). Pure.
 */
export function buildMessages({ project, item, instructions }: BuildMessagesInput): ChatMessage[] {
  const schema = project.labelSchema;
  const multi = schema.type === 'multi_label';
  const system: string[] = [
    multi
      ? 'You are a data annotator. Assign every label that applies to the text the user sends.'
      : 'You are a data annotator. Assign exactly one label to the text the user sends.',
    `Schema type: ${schema.type}`,
    `Labels: ${JSON.stringify(schema.labels)}`,
  ];
  const guidelines = project.guidelines?.trim();
  if (guidelines) system.push(`Guidelines:\n${guidelines}`);
  const extra = instructions?.trim();
  if (extra) system.push(`Instructions:\n${extra}`);
  system.push(
    multi
      ? 'Answer with JSON only: {"labels": [<one or more labels from the list>], "confidence": <number from 0 to 1>}.'
      : 'Answer with JSON only: {"label": <one label from the list>, "confidence": <number from 0 to 1>}.',
    'Use the labels exactly as written. confidence is your probability that the answer is correct.',
  );

  const messages: ChatMessage[] = [{ role: 'system', content: system.join('\n\n') }];
  for (const example of project.examples ?? []) {
    const answer = exampleAnswer(example, schema);
    if (answer === null) continue;
    messages.push({ role: 'user', content: example.text }, { role: 'assistant', content: answer });
  }
  messages.push({ role: 'user', content: item.text });
  return messages;
}

/** The assistant turn for a gold example, or null when its value does not fit the schema. */
function exampleAnswer(example: LabelledExample, schema: LabelSchema): string | null {
  const labels = valueLabels(example.value).filter((l) => schema.labels.includes(l));
  if (labels.length === 0) return null;
  return schema.type === 'multi_label'
    ? JSON.stringify({ labels, confidence: 1 })
    : JSON.stringify({ label: labels[0], confidence: 1 });
}

export function valueLabels(value: AnnotationValue | null | undefined): string[] {
  if (!value || typeof value !== 'object') return [];
  if ('labels' in value && Array.isArray(value.labels)) return value.labels.filter((l) => typeof l === 'string');
  if ('label' in value && typeof value.label === 'string') return [value.label];
  return [];
}

export interface JsonSchemaFormat {
  name: string;
  strict: true;
  schema: Record<string, unknown>;
}

/**
 * The JSON schema for OpenAI structured output (`response_format: {type: 'json_schema',
 * json_schema}`): the label (or labels) restricted to the label set, and a confidence.
 */
export function jsonSchemaFor(labelSchema: LabelSchema): JsonSchemaFormat {
  const label = { type: 'string', enum: [...labelSchema.labels] };
  const confidence = { type: 'number', description: 'Probability from 0 to 1 that the answer is correct.' };
  if (labelSchema.type === 'multi_label') {
    return {
      name: 'multi_label_annotation',
      strict: true,
      schema: {
        type: 'object',
        properties: { labels: { type: 'array', items: label }, confidence },
        required: ['labels', 'confidence'],
        additionalProperties: false,
      },
    };
  }
  return {
    name: 'label_annotation',
    strict: true,
    schema: {
      type: 'object',
      properties: { label, confidence },
      required: ['label', 'confidence'],
      additionalProperties: false,
    },
  };
}
