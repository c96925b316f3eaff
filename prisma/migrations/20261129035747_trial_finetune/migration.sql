-- DropIndex
DROP INDEX "Trial_sweepId_method_amount_seed_key";

-- AlterTable
ALTER TABLE "Trial" ADD COLUMN     "finetune" TEXT NOT NULL DEFAULT 'default';

-- CreateIndex
CREATE UNIQUE INDEX "Trial_sweepId_method_amount_seed_finetune_key" ON "Trial"("sweepId", "method", "amount", "seed", "finetune");
