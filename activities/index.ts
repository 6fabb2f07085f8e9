import { createPreAnnotationActivities, type PreAnnotationDeps } from './pre-annotation';
import { createBatchCoverageActivities } from './batch-coverage';
import { createTaskActivities } from './tasks';
import { createConflictActivities } from './conflicts';
import { createValidationActivities, type ValidationDeps } from './validation';
import { createProviderBatchActivities, type ProviderBatchDeps } from './provider-batches';

export type ActivityDeps = PreAnnotationDeps & Pick<ValidationDeps, 'qualityMinPairableValues'> & Pick<ProviderBatchDeps, 'batchProviders'>;

/** Every activity the workers register, built from their dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPreAnnotationActivities(deps),
    ...createProviderBatchActivities(deps),
    ...createBatchCoverageActivities(deps),
    ...createTaskActivities(deps),
    ...createConflictActivities(deps),
    ...createValidationActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
