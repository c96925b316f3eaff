-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "SweepStatus" AS ENUM ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "TrialStatus" AS ENUM ('PENDING', 'RUNNING', 'DONE', 'FAILED');

-- CreateTable
CREATE TABLE "Sweep" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "dataset" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "status" "SweepStatus" NOT NULL DEFAULT 'PENDING',
    "tags" TEXT[],
    "totalTrials" INTEGER NOT NULL,
    "baselineParams" INTEGER,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Sweep_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Baseline" (
    "key" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "dataset" TEXT NOT NULL,
    "seed" INTEGER NOT NULL,
    "config" JSONB NOT NULL,
    "accuracy" DOUBLE PRECISION NOT NULL,
    "totalParams" INTEGER NOT NULL,
    "flops" BIGINT NOT NULL,
    "artifactUri" TEXT NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "backend" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Baseline_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "SweepBaseline" (
    "sweepId" TEXT NOT NULL,
    "baselineKey" TEXT NOT NULL,
    "seed" INTEGER NOT NULL,

    CONSTRAINT "SweepBaseline_pkey" PRIMARY KEY ("sweepId","seed")
);

-- CreateTable
CREATE TABLE "Trial" (
    "id" TEXT NOT NULL,
    "sweepId" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "amount" DOUBLE PRECISION NOT NULL,
    "seed" INTEGER NOT NULL,
    "config" JSONB NOT NULL,
    "status" "TrialStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "accuracy" DOUBLE PRECISION,
    "baselineAccuracy" DOUBLE PRECISION,
    "accuracyDrop" DOUBLE PRECISION,
    "totalParams" INTEGER,
    "nonzeroParams" INTEGER,
    "baselineParams" INTEGER,
    "compressionRate" DOUBLE PRECISION,
    "flops" BIGINT,
    "effectiveFlops" BIGINT,
    "durationMs" INTEGER,
    "backend" TEXT,
    "device" TEXT,
    "artifactUri" TEXT,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Trial_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Artifact" (
    "uri" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "bytes" BYTEA NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Artifact_pkey" PRIMARY KEY ("uri")
);

-- CreateIndex
CREATE INDEX "Trial_sweepId_status_idx" ON "Trial"("sweepId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "Trial_sweepId_method_amount_seed_key" ON "Trial"("sweepId", "method", "amount", "seed");

-- AddForeignKey
ALTER TABLE "SweepBaseline" ADD CONSTRAINT "SweepBaseline_sweepId_fkey" FOREIGN KEY ("sweepId") REFERENCES "Sweep"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SweepBaseline" ADD CONSTRAINT "SweepBaseline_baselineKey_fkey" FOREIGN KEY ("baselineKey") REFERENCES "Baseline"("key") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Trial" ADD CONSTRAINT "Trial_sweepId_fkey" FOREIGN KEY ("sweepId") REFERENCES "Sweep"("id") ON DELETE CASCADE ON UPDATE CASCADE;
