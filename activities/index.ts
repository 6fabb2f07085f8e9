import { createPreAnnotationActivities, type PreAnnotationDeps } from './pre-annotation';

export type ActivityDeps = PreAnnotationDeps;

/** Every activity the workers register, built from their dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPreAnnotationActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
