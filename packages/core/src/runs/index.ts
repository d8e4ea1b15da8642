/**
 * `@runtrace/core/runs`: runs and what hangs off them — steps, messages, agents — as managers with their input
 * schemas and output shapes. Browser code takes the status/stop-reason names from `@runtrace/core/run-names`
 * instead: this module pulls in the database side.
 */
export {
  type Agent,
  type AgentIdInput,
  AgentManager,
  agentIdInput,
  agentSchema,
  type ListAgentsInput,
  listAgentsInput,
  type UpdateAgentInput,
  updateAgentInput,
} from '../agents/agent-manager.ts';
export { MESSAGE_TYPES, type Message, type MessageType, messageSchema } from '../messages/letta-message.ts';
export {
  type AppendMessagesInput,
  appendMessagesInput,
  type ListRunMessagesInput,
  listRunMessagesInput,
  MessageManager,
} from '../messages/message-manager.ts';
export {
  type CreateStepInput,
  createStepInput,
  FEEDBACK_VALUES,
  type ListRunStepsInput,
  listRunStepsInput,
  type Step,
  type StepFeedbackInput,
  type StepIdInput,
  stepIdInput,
  stepSchema,
} from '../steps/schemas.ts';
export { StepManager } from '../steps/step-manager.ts';
export { RUN_STATUSES, type RunStatus, STOP_REASONS, type StopReason } from './names.ts';
export { RunManager } from './run-manager.ts';
export {
  type CountRunsInput,
  type CreateRunInput,
  countRunsInput,
  createRunInput,
  type ListActiveRunsInput,
  type ListRunsInput,
  listActiveRunsInput,
  listRunsInput,
  MAX_RUN_COUNT,
  nanosecondsOutputSchema,
  RUN_SORT_KEYS,
  type Run,
  type RunCount,
  type RunIdInput,
  type RunMetrics,
  type RunSortKey,
  type RunUsage,
  runCountSchema,
  runIdInput,
  runMetricsSchema,
  runSchema,
  runUsageSchema,
  type UpdateRunInput,
  updateRunInput,
} from './schemas.ts';
