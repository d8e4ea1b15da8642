CREATE TABLE "model_prices" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"provider" text,
	"model" text,
	"model_pattern" text,
	"effective_from" timestamp(6) with time zone NOT NULL,
	"input_ppt" bigint NOT NULL,
	"cached_input_ppt" bigint,
	"cache_write_ppt" bigint,
	"output_ppt" bigint NOT NULL,
	"reasoning_ppt" bigint,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "price_recomputes" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"from_time" timestamp(6) with time zone NOT NULL,
	"to_time" timestamp(6) with time zone NOT NULL,
	"model" text,
	"after_created_at" timestamp(6) with time zone,
	"after_id" text,
	"steps_done" bigint DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL,
	"updated_at" timestamp(6) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "name" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "model" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "provider" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "step_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "step_errors" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "total_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "cost_pusd" bigint;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "unpriced_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "llm_ns" bigint;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "input_tokens" integer;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "cached_input_tokens" integer;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "cache_write_tokens" integer;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "output_tokens" integer;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "reasoning_tokens" integer;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "cost_pusd" bigint;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "unpriced_tokens" integer;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "price_id" text;--> statement-breakpoint
ALTER TABLE "model_prices" ADD CONSTRAINT "model_prices_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_recomputes" ADD CONSTRAINT "price_recomputes_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "model_prices_match_idx" ON "model_prices" USING btree ("organization_id",coalesce("provider", ''),coalesce("model", ''),coalesce("model_pattern", ''),"effective_from");--> statement-breakpoint
CREATE INDEX "agents_org_name_idx" ON "agents" USING btree ("organization_id","name") WHERE "agents"."name" is not null;--> statement-breakpoint
CREATE INDEX "runs_org_id_prefix_idx" ON "runs" USING btree ("organization_id","id" text_pattern_ops);
--> statement-breakpoint
-- Runs recorded before these totals existed: count their steps once here. Their tokens stay unpriced until
-- prices.recompute prices their steps (README, Cost and analytics).
UPDATE "runs" SET
  "step_count" = s."step_count",
  "step_errors" = s."step_errors",
  "total_tokens" = s."total_tokens",
  "unpriced_tokens" = s."total_tokens",
  "llm_ns" = s."llm_ns",
  "model" = s."model",
  "provider" = s."provider"
FROM (
  SELECT "run_id",
    count(*)::integer AS "step_count",
    (count(*) FILTER (WHERE "status" = 'failed' OR "error_type" IS NOT NULL))::integer AS "step_errors",
    coalesce(sum("total_tokens"), 0)::bigint AS "total_tokens",
    sum("llm_request_ns")::bigint AS "llm_ns",
    (array_agg("model" ORDER BY "created_at", "id"))[1] AS "model",
    (array_agg(lower("provider_name") ORDER BY "created_at", "id"))[1] AS "provider"
  FROM "steps" GROUP BY "run_id"
) s
WHERE "runs"."id" = s."run_id";
