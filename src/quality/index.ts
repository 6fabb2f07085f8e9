/** Quality science: pure agreement, aggregation and accuracy measures (no I/O). */
export * from './types';
export { groupRatings, categoryKey, type GroupedRatings, type GroupOptions } from './group';
export * from './percent-agreement';
export * from './cohen-kappa';
export * from './fleiss-kappa';
export * from './krippendorff-alpha';
export * from './majority-vote';
export * from './final-label';
export * from './dawid-skene';
export * from './aggregation-model';
export * from './gold-accuracy';
export * from './consensus-agreement';
export * from './label-distribution';
