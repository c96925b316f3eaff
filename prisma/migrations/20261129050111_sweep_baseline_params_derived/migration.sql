-- AlterTable
ALTER TABLE "Sweep" DROP COLUMN "baselineParams";
