-- CreateTable
CREATE TABLE "UserModel" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "params" INTEGER NOT NULL,
    "inputShape" JSONB NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "artifactUri" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UserModel_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UserModel_createdAt_idx" ON "UserModel"("createdAt");
