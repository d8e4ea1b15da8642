export type { PurgeCounts } from './purge-batch.ts';
export { RETENTION_LOCK_KEY, RetentionJob, type RetentionJobOptions, type RetentionPass } from './retention-job.ts';
export {
  type RetentionDays,
  type RetentionSetting,
  RetentionSettings,
  type SetRetentionInput,
  setRetentionInput,
} from './retention-settings.ts';
