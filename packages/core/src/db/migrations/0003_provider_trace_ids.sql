CREATE TABLE "provider_trace_ids" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"run_id" text,
	"fingerprint" text NOT NULL,
	"trace_created_at" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "provider_trace_ids_org_run_idx" ON "provider_trace_ids" USING btree ("organization_id","run_id") WHERE "provider_trace_ids"."run_id" is not null;