// Every workflow the worker registers. Workflow code is deterministic: it imports only
// @temporalio/workflow and pure modules.
export { preAnnotation } from './pre-annotation';
export { batchCoverage } from './batch-coverage';
export { reviewAssignment } from './review-assignment';
export { conflictResolution } from './conflict-resolution';
export { validation } from './validation';
