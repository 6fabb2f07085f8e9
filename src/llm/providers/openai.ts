import OpenAI from 'openai';
import { EngineCallError, InvalidOutputError, withUsage } from '../errors';
import type { EngineRecord } from '../../db/models';
import { jsonSchemaFor, type ChatMessage } from '../prompt';
import type { LabelSchema } from '../types';
import { classifySdkError, type SdkErrors } from './sdk-errors';
import type { Egress } from './egress';
import { defaultEgress, providerFetchFor, sdkClientCache } from './transport';
import { usageIdHeaders, type Provider, type ProviderRequest, type ProviderResponse } from './types';

/**
 * OpenAI-compatible chat completions through the official SDK: OpenAI itself, vLLM, Ollama,
 * LM Studio, anything at `engine.base_url`. Temperature 0, structured output (a JSON schema
 * whose label is an enum of the label set) unless `params.structured_output === false`.
 * The SDK never retries (maxRetries 0): failover and Temporal retries are the retry policy.
 */
export interface OpenAIProviderOptions {
  /** Where API keys are read from (default process.env); keys are looked up, never stored. */
  env?: NodeJS.ProcessEnv;
  /** Where calls may connect (default: this process's ENGINE_ALLOWED_HOSTS / NODE_ENV). */
  egress?: Egress;
}

/** Engine params passed through to the API when set. */
const PASSTHROUGH = ['max_tokens', 'max_completion_tokens', 'top_p', 'seed', 'frequency_penalty', 'presence_penalty', 'stop'] as const;

/**
 * The chat-completions request body of a classification: what a sync call sends and what each
 * line of a batch input file carries (src/llm/batch/openai-batch.ts), so both ask the same.
 */
export function openAIChatBody(engine: EngineRecord, messages: ChatMessage[], labelSchema: LabelSchema): Record<string, unknown> {
  const params = engine.params ?? {};
  const body: Record<string, unknown> = {
    model: engine.model,
    messages,
    temperature: typeof params.temperature === 'number' ? params.temperature : 0,
  };
  for (const name of PASSTHROUGH) if (params[name] !== undefined && params[name] !== null) body[name] = params[name];
  if (params.structured_output !== false) {
    body.response_format = { type: 'json_schema', json_schema: jsonSchemaFor(labelSchema) };
  } else if (params.json_mode === true) {
    body.response_format = { type: 'json_object' };
  }
  return body;
}

/** The answer of a chat completion (sync, or one line of a batch output file): its text and usage. */
export function openAIAnswer(completion: OpenAI.Chat.Completions.ChatCompletion): ProviderResponse {
  const choice = completion.choices?.[0];
  const usage = {
    promptTokens: completion.usage?.prompt_tokens ?? 0,
    completionTokens: completion.usage?.completion_tokens ?? 0,
    cachedTokens: completion.usage?.prompt_tokens_details?.cached_tokens ?? 0,
  };
  const text = choice?.message?.content;
  if (typeof text !== 'string' || !text.trim()) {
    const refusal = choice?.message?.refusal;
    throw withUsage(new InvalidOutputError(refusal ? `refusal: ${refusal}` : `no content (finish_reason ${choice?.finish_reason ?? 'none'})`), usage);
  }
  return { text, usage };
}

export function createOpenAIProvider(options: OpenAIProviderOptions = {}): Provider {
  const env = options.env ?? process.env;
  const fetch = providerFetchFor(options.egress ?? defaultEgress());
  const clientFor = sdkClientCache(env, ({ baseURL, apiKey, timeoutMs }) => new OpenAI({ baseURL, apiKey, timeout: timeoutMs, maxRetries: 0, fetch }));

  return {
    async call(request: ProviderRequest): Promise<ProviderResponse> {
      const body = openAIChatBody(request.engine, request.messages, request.project.labelSchema);

      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await clientFor(request).chat.completions.create(
          body as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
          { timeout: request.timeoutMs, signal: request.signal, maxRetries: 0, headers: usageIdHeaders(request.usageId) },
        );
      } catch (err) {
        throw classifyOpenAIError(err, request.timeoutMs);
      }

      return openAIAnswer(completion);
    },
  };
}

const OPENAI_ERRORS: SdkErrors = {
  APIConnectionTimeoutError: OpenAI.APIConnectionTimeoutError,
  APIUserAbortError: OpenAI.APIUserAbortError,
  APIConnectionError: OpenAI.APIConnectionError,
  APIError: OpenAI.APIError,
  message: (err) => {
    const body = err.error as { message?: unknown } | undefined;
    return typeof body?.message === 'string' ? body.message : undefined;
  },
};

/** An SDK error as an EngineCallError with the ledger outcome. */
export function classifyOpenAIError(err: unknown, timeoutMs: number): EngineCallError {
  return classifySdkError(OPENAI_ERRORS, err, timeoutMs);
}
