-- CreateTable
CREATE TABLE "ScheduleModelRef" (
    "scheduleId" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ScheduleModelRef_pkey" PRIMARY KEY ("scheduleId")
);

-- CreateIndex
CREATE INDEX "ScheduleModelRef_modelId_idx" ON "ScheduleModelRef"("modelId");

-- AddForeignKey
ALTER TABLE "ScheduleModelRef" ADD CONSTRAINT "ScheduleModelRef_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "UserModel"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
