-- The model axis: each trial and each linked baseline names its model. Rows written before it exist are of their
-- sweep's one model: backfilled from "Sweep"."model", then required.

-- DropIndex
DROP INDEX "Trial_sweepId_method_amount_seed_finetune_key";

-- AlterTable
ALTER TABLE "SweepBaseline" ADD COLUMN "model" TEXT;
UPDATE "SweepBaseline" sb SET "model" = s."model" FROM "Sweep" s WHERE s."id" = sb."sweepId";
ALTER TABLE "SweepBaseline" ALTER COLUMN "model" SET NOT NULL;
ALTER TABLE "SweepBaseline" DROP CONSTRAINT "SweepBaseline_pkey",
ADD CONSTRAINT "SweepBaseline_pkey" PRIMARY KEY ("sweepId", "model", "seed");

-- AlterTable
ALTER TABLE "Trial" ADD COLUMN "model" TEXT;
UPDATE "Trial" t SET "model" = s."model" FROM "Sweep" s WHERE s."id" = t."sweepId";
ALTER TABLE "Trial" ALTER COLUMN "model" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Trial_sweepId_model_method_amount_seed_finetune_key" ON "Trial"("sweepId", "model", "method", "amount", "seed", "finetune");
