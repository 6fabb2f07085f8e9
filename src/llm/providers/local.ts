import { classifyLocal } from '../local-engine';
import type { Provider } from './types';
import { ZERO_USAGE } from './types';

/** The built-in naive Bayes engine as a provider: offline, free, no token counts. */
export const localProvider: Provider = {
  async call({ project, item }) {
    const { value, confidence } = classifyLocal(project, item.text);
    return { text: JSON.stringify({ ...value, confidence }), usage: { ...ZERO_USAGE } };
  },
};
