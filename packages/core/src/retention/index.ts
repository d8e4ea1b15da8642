export { RetentionJob, type RetentionJobOptions, type RetentionPass } from './retention-job.ts';
export { type RetentionSetting, type SetRetentionInput, setRetentionInput } from './retention-settings.ts';
