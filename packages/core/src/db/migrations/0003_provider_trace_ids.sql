CREATE TABLE "provider_trace_ids" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"trace_created_at" text NOT NULL
);
