CREATE TABLE "agents" (
	"id" text NOT NULL,
	"organization_id" text NOT NULL,
	"last_stop_reason" text,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL,
	CONSTRAINT "agents_organization_id_id_pk" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"user_id" text NOT NULL,
	"name" text NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL,
	"revoked_at" timestamp(6) with time zone
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"run_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"step_id" text,
	"seq" integer NOT NULL,
	"message_type" text NOT NULL,
	"date" timestamp(6) with time zone NOT NULL,
	"name" text,
	"otid" text,
	"sender_id" text,
	"is_err" boolean,
	"body" jsonb NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "provider_traces" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"run_id" text,
	"step_id" text,
	"agent_id" text,
	"agent_tags" jsonb,
	"call_type" text,
	"request_json" jsonb NOT NULL,
	"response_json" jsonb NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_metrics" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"project_id" text,
	"run_start_ns" bigint NOT NULL,
	"run_ns" bigint,
	"num_steps" integer DEFAULT 0 NOT NULL,
	"tools_used" jsonb,
	"template_id" text,
	"base_template_id" text
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"status" text DEFAULT 'created' NOT NULL,
	"stop_reason" text,
	"background" boolean,
	"conversation_id" text,
	"base_template_id" text,
	"metadata" jsonb,
	"request_config" jsonb,
	"callback_url" text,
	"callback_sent_at" timestamp(6) with time zone,
	"callback_status_code" integer,
	"callback_error" text,
	"ttft_ns" bigint,
	"total_duration_ns" bigint,
	"created_by_id" text,
	"create_fingerprint" text NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL,
	"updated_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL,
	"completed_at" timestamp(6) with time zone
);
--> statement-breakpoint
CREATE TABLE "steps" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"run_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"origin" text,
	"provider_id" text,
	"provider_name" text,
	"provider_category" text,
	"model" text,
	"model_endpoint" text,
	"context_window_limit" integer,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"total_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens_details" jsonb,
	"prompt_tokens_details" jsonb,
	"stop_reason" text,
	"tags" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"tid" text,
	"trace_id" text,
	"request_id" text,
	"feedback" text,
	"project_id" text,
	"error_type" text,
	"error_data" jsonb,
	"status" text DEFAULT 'pending' NOT NULL,
	"step_start_ns" bigint,
	"llm_request_start_ns" bigint,
	"llm_request_ns" bigint,
	"tool_execution_ns" bigint,
	"step_ns" bigint,
	"create_fingerprint" text NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agents" ADD CONSTRAINT "agents_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_metrics" ADD CONSTRAINT "run_metrics_id_runs_id_fk" FOREIGN KEY ("id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "steps" ADD CONSTRAINT "steps_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agents_org_created_idx" ON "agents" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_key_hash_idx" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_org_idx" ON "api_keys" USING btree ("organization_id");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_run_seq_idx" ON "messages" USING btree ("run_id","seq");--> statement-breakpoint
CREATE INDEX "provider_traces_org_step_idx" ON "provider_traces" USING btree ("organization_id","step_id","created_at");--> statement-breakpoint
CREATE INDEX "provider_traces_org_run_idx" ON "provider_traces" USING btree ("organization_id","run_id","created_at");--> statement-breakpoint
CREATE INDEX "runs_org_created_idx" ON "runs" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_org_agent_created_idx" ON "runs" USING btree ("organization_id","agent_id","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_org_status_created_idx" ON "runs" USING btree ("organization_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_org_stop_reason_created_idx" ON "runs" USING btree ("organization_id","stop_reason","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_org_conversation_created_idx" ON "runs" USING btree ("organization_id","conversation_id","created_at","id") WHERE "runs"."conversation_id" is not null;--> statement-breakpoint
CREATE INDEX "runs_org_background_created_idx" ON "runs" USING btree ("organization_id","created_at","id") WHERE "runs"."background";--> statement-breakpoint
CREATE INDEX "steps_run_created_idx" ON "steps" USING btree ("run_id","created_at","id");--> statement-breakpoint
CREATE INDEX "steps_org_agent_created_idx" ON "steps" USING btree ("organization_id","agent_id","created_at","id");--> statement-breakpoint
CREATE INDEX "steps_org_trace_idx" ON "steps" USING btree ("organization_id","trace_id") WHERE "steps"."trace_id" is not null;