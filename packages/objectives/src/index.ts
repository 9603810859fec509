/**
 * `@lss/objectives`: the LSS losses (concept distillation, concept alignment, uniform prior), the DINO
 * baseline, and a registry for selecting, injecting or adding objectives (LSS SPEC section 3).
 *
 * @example
 * import { createObjectives, sumLossTerms } from '@lss/objectives';
 * const objectives = createObjectives([
 *   { name: 'concept-distillation', weight: 1 },
 *   { name: 'concept-alignment', weight: 1 },
 *   { name: 'uniform-prior', weight: 1 },
 * ]);
 * const { total, terms } = sumLossTerms(objectives, inputs); // inside the gradient tape
 */
export { CLIP_INIT_LOGIT_SCALE, CLIP_MAX_LOGIT_SCALE, clipContrastiveLoss } from './clip-loss.js';
export {
  ConceptAlignment,
  createConceptAlignment,
  DEFAULT_CONCEPT_ALIGNMENT,
  rowNormalize,
} from './concept-alignment.js';
export {
  ConceptDistillation,
  createConceptDistillation,
  DEFAULT_CONCEPT_DISTILLATION,
  LSS_TEACHER_TEMPERATURE,
} from './concept-distillation.js';
export { createDino, DEFAULT_DINO, Dino } from './dino.js';
export {
  crossViewCrossEntropy,
  type DinoLossOptions,
  dinoLoss,
  dinoLossTerms,
  sharpenedTeacherLogits,
  updateCenter,
} from './dino-loss.js';
export { stopGradient } from './gradient.js';
export {
  asWeighted,
  createObjective,
  createObjectives,
  linkTeacherDistributions,
  loadObjectiveVariables,
  objectiveFactories,
  objectiveVariables,
  registeredObjectiveNames,
  registerObjective,
  type SumLossTermsOptions,
  sumLossTerms,
} from './registry.js';
export { scheduleValue, validateTemperature, warmupThenConstant } from './schedules.js';
export { TeacherDistribution, type TeacherDistributionConfig } from './teacher-distribution.js';
export type {
  AfterStepInputs,
  BatchMean,
  BuiltinObjectiveSpec,
  ConceptAlignmentConfig,
  ConceptAlignmentSpec,
  ConceptDistillationConfig,
  ConceptDistillationSpec,
  ConceptScores,
  ConceptSpace,
  ConceptSpaceName,
  CustomObjectiveSpec,
  DinoConfig,
  DinoHeadInput,
  DinoSpec,
  Objective,
  ObjectiveFactory,
  ObjectiveInputs,
  ObjectiveSpec,
  ObjectiveTerms,
  TemperatureSetting,
  UniformPriorConfig,
  UniformPriorSpec,
  VariableValues,
  WarmupSchedule,
  WeightedObjective,
} from './types.js';
export { CONCEPT_SPACES } from './types.js';
export { createUniformPrior, DEFAULT_UNIFORM_PRIOR, klToUniform, UniformPrior } from './uniform-prior.js';
