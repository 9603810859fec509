/**
 * `@lss/objectives`: the LSS losses (concept distillation, concept alignment, uniform prior), the DINO
 * baseline, and a registry for selecting, injecting or adding objectives.
 *
 * Planned value exports (being implemented; names are final):
 * `createConceptDistillation`, `createUniformPrior`, `createConceptAlignment`, `createDino`, `dinoLoss`,
 * `updateCenter`, `objectiveFactories`, `createObjective`, `createObjectives`, `registerObjective`,
 * `registeredObjectiveNames`, `sumLossTerms`, `objectiveVariables`, `loadObjectiveVariables`,
 * `scheduleValue`, `warmupThenConstant`, `stopGradient`, and the `DEFAULT_*` config constants.
 */
export type {
  AfterStepInputs,
  BuiltinObjectiveSpec,
  ConceptAlignmentConfig,
  ConceptAlignmentSpec,
  ConceptDistillationConfig,
  ConceptDistillationSpec,
  ConceptScores,
  ConceptSpace,
  CustomObjectiveSpec,
  DinoConfig,
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
