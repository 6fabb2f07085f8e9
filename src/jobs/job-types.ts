/**
 * The kinds of job, as stored in `jobs.type`, the `AnnotationJobType` search attribute, the
 * `type` label of the job metrics and `job_type` in job events. The one place these strings
 * are written: import the constants, never spell the string.
 */
export const PRE_ANNOTATION_JOB_TYPE = 'pre_annotation';
export const BATCH_COVERAGE_JOB_TYPE = 'batch_coverage';
export const VALIDATION_JOB_TYPE = 'validation';

export const JOB_TYPES = [PRE_ANNOTATION_JOB_TYPE, BATCH_COVERAGE_JOB_TYPE, VALIDATION_JOB_TYPE] as const;
export type JobType = (typeof JOB_TYPES)[number];
