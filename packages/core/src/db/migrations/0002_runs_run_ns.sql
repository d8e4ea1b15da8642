ALTER TABLE "runs" ADD COLUMN "run_ns" bigint;--> statement-breakpoint
UPDATE "runs" SET "run_ns" = "run_metrics"."run_ns" FROM "run_metrics" WHERE "run_metrics"."id" = "runs"."id" AND "run_metrics"."run_ns" IS NOT NULL;
