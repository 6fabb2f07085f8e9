import type { Egress } from '../providers/egress';
import { createAnthropicBatchAdapter } from './anthropic-batch';
import { createOpenAIBatchAdapter } from './openai-batch';
import type { BatchProviders } from './types';

export type { BatchProviders, BatchResult, BatchSnapshot, BatchRequestCounts, ProviderBatchAdapter, BatchLimits } from './types';
export { OPENAI_BATCH_LIMITS } from './openai-batch';
export { ANTHROPIC_BATCH_LIMITS } from './anthropic-batch';

/** The batch APIs of the providers that have one (`local` has none). */
export function createBatchProviders(options: { env?: NodeJS.ProcessEnv; egress?: Egress } = {}): BatchProviders {
  return { openai: createOpenAIBatchAdapter(options), anthropic: createAnthropicBatchAdapter(options) };
}
export { ZERO_USAGE } from '../providers/types';
