-- AlterTable
ALTER TABLE "Trial" ADD COLUMN     "baselineLatencyMs" DOUBLE PRECISION,
ADD COLUMN     "gzipBytes" INTEGER,
ADD COLUMN     "latencyMs" DOUBLE PRECISION,
ADD COLUMN     "sizeBytes" INTEGER;
