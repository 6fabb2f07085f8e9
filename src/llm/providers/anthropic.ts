import Anthropic from '@anthropic-ai/sdk';
import { EngineCallError, InvalidOutputError, withUsage } from '../errors';
import type { EngineRecord } from '../../db/models';
import { jsonSchemaFor, type ChatMessage } from '../prompt';
import type { LabelSchema } from '../types';
import { classifySdkError, type SdkErrors } from './sdk-errors';
import type { Egress } from './egress';
import { defaultEgress, providerFetchFor, sdkClientCache } from './transport';
import { usageIdHeaders, type Provider, type ProviderRequest, type ProviderResponse } from './types';

/**
 * Anthropic's Messages API through the official SDK. The system prompt goes in `system`, the
 * few-shot pairs and the item in `messages`; temperature 0; structured output
 * (`output_config.format` with the label-set JSON schema) unless
 * `params.structured_output === false`. No SDK retries: failover is the retry policy.
 */
export interface AnthropicProviderOptions {
  env?: NodeJS.ProcessEnv;
  /** Where calls may connect (default: this process's ENGINE_ALLOWED_HOSTS / NODE_ENV). */
  egress?: Egress;
}

const DEFAULT_MAX_TOKENS = 256;

/**
 * The Messages request body of a classification: what a sync call sends and what each request
 * of a message batch carries as `params` (src/llm/batch/anthropic-batch.ts).
 */
export function anthropicMessageBody(engine: EngineRecord, messages: ChatMessage[], labelSchema: LabelSchema): Record<string, unknown> {
  const params = engine.params ?? {};
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const body: Record<string, unknown> = {
    model: engine.model,
    max_tokens: typeof params.max_tokens === 'number' ? params.max_tokens : DEFAULT_MAX_TOKENS,
    temperature: typeof params.temperature === 'number' ? params.temperature : 0,
    messages: messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content })),
  };
  if (system) body.system = system;
  if (params.structured_output !== false) {
    body.output_config = { format: { type: 'json_schema', schema: jsonSchemaFor(labelSchema).schema } };
  }
  return body;
}

/** The answer of a message (sync, or a batch result that succeeded): its text and usage. */
export function anthropicAnswer(message: Anthropic.Messages.Message): ProviderResponse {
  const u = message.usage;
  const cachedTokens = u?.cache_read_input_tokens ?? 0;
  // Anthropic's input_tokens excludes cache reads and writes; the ledger counts all prompt tokens.
  const usage = {
    promptTokens: (u?.input_tokens ?? 0) + cachedTokens + (u?.cache_creation_input_tokens ?? 0),
    completionTokens: u?.output_tokens ?? 0,
    cachedTokens,
  };
  const text = (message.content ?? [])
    .map((block) => (block.type === 'text' ? block.text : ''))
    .join('')
    .trim();
  if (!text) throw withUsage(new InvalidOutputError(`no text content (stop_reason ${message.stop_reason ?? 'none'})`), usage);
  return { text, usage };
}

export function createAnthropicProvider(options: AnthropicProviderOptions = {}): Provider {
  const env = options.env ?? process.env;
  const fetch = providerFetchFor(options.egress ?? defaultEgress());
  const clientFor = sdkClientCache(env, ({ baseURL, apiKey, timeoutMs }) => new Anthropic({ baseURL, apiKey, authToken: null, timeout: timeoutMs, maxRetries: 0, fetch }));

  return {
    async call(request: ProviderRequest): Promise<ProviderResponse> {
      const body = anthropicMessageBody(request.engine, request.messages, request.project.labelSchema);

      let message: Anthropic.Messages.Message;
      try {
        message = await clientFor(request).messages.create(body as unknown as Anthropic.Messages.MessageCreateParamsNonStreaming, {
          timeout: request.timeoutMs,
          signal: request.signal,
          maxRetries: 0,
          headers: usageIdHeaders(request.usageId),
        });
      } catch (err) {
        throw classifyAnthropicError(err, request.timeoutMs);
      }

      return anthropicAnswer(message);
    },
  };
}

const ANTHROPIC_ERRORS: SdkErrors = {
  APIConnectionTimeoutError: Anthropic.APIConnectionTimeoutError,
  APIUserAbortError: Anthropic.APIUserAbortError,
  APIConnectionError: Anthropic.APIConnectionError,
  APIError: Anthropic.APIError,
  // Anthropic error bodies: {"type":"error","error":{"type":"...","message":"..."}}
  message: (err) => {
    const body = err.error as { error?: { message?: unknown }; message?: unknown } | undefined;
    const inner = body?.error?.message ?? body?.message;
    return typeof inner === 'string' ? inner : undefined;
  },
};

/** An SDK error as an EngineCallError with the ledger outcome. */
export function classifyAnthropicError(err: unknown, timeoutMs: number): EngineCallError {
  return classifySdkError(ANTHROPIC_ERRORS, err, timeoutMs);
}
