/** The OpenAPI 3.1 document served at /docs, built from the DTO schemas. */
import { z } from 'zod';
import { UploadModelSchema } from './models/models.dto.js';
import { CreateScheduleSchema } from './schedules/schedules.dto.js';
import { CreateSweepSchema, MAX_COMPARED_SWEEPS, PARETO_OBJECTIVES, SWEEP_STATUSES, TRIAL_STATUSES } from './sweeps/sweeps.dto.js';
import { METHODS, MODELS } from '../../../workflows/src/spec.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
/** `?format=csv` on a read endpoint: the same data as a CSV download. */
const formatParam = (what: string) => ({ name: 'format', in: 'query', description: `json, or csv: ${what} as a CSV download (RFC 4180)`, schema: { enum: ['json', 'csv'], default: 'json' } });
const jsonOrCsv = (schema: object) => ({ content: { ...json(schema).content, 'text/csv': { schema: { type: 'string' } } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const errors = { 400: { description: 'Invalid input', ...json(ref('Error')) }, 404: { description: 'Unknown sweep', ...json(ref('Error')) } };

export function openApiDocument(): object {
  const nullableNumber = { type: ['number', 'null'] };
  return {
    openapi: '3.1.0',
    info: { title: 'Lopper sweep API', version: '0.1.0', description: 'Submit pruning sweeps; read trials and the accuracy-vs-compression Pareto front.' },
    // Open by default; with LOPPER_API_TOKEN set on the server, every path but /health needs the bearer token (auth.ts).
    security: [{}, { bearer: [] }],
    paths: {
      '/health': { get: { summary: 'Liveness: 200 {"ok": true}; never needs the token', security: [], responses: { 200: { description: 'Up' } } } },
      '/sweeps': {
        post: { summary: 'Submit a sweep', requestBody: { required: true, ...json(ref('CreateSweep')) }, responses: { 201: { description: 'Created', ...json({ type: 'object', properties: { id: { type: 'string' }, totalTrials: { type: 'integer' } } }) }, 400: errors[400] } },
        get: {
          summary: 'List sweeps (newest first)',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
            { name: 'tag', in: 'query', schema: { type: 'string' } },
            { name: 'status', in: 'query', schema: { enum: [...SWEEP_STATUSES] } },
            { name: 'before', in: 'query', description: 'the next page: the id of the previous page\'s last sweep (sweeps after it, newest first, ties in createdAt by id), or an ISO 8601 time (sweeps created strictly before it)', schema: { type: 'string' } },
          ], responses: { 200: { description: 'Sweeps', ...json({ type: 'array', items: ref('Sweep') }) } } },
      },
      '/sweeps/validate': {
        post: {
          summary: 'A dry run of POST /sweeps: validates the body the same way (400 naming each bad field) and answers what it would run, writing nothing and starting nothing',
          requestBody: { required: true, ...json(ref('CreateSweep')) },
          responses: {
            200: {
              description: 'The plan',
              ...json({
                type: 'object',
                properties: {
                  valid: { type: 'boolean' }, totalTrials: { type: 'integer' }, baselines: { type: 'integer', description: 'one per model and seed' },
                  axes: { type: 'object', description: 'models, seeds, methods, amounts, finetuneSettings (names): the grid\'s axes, duplicates dropped', properties: { models: { type: 'array', items: { type: 'string' } }, seeds: { type: 'array', items: { type: 'integer' } }, methods: { type: 'array', items: { type: 'string' } }, amounts: { type: 'array', items: { type: 'number' } }, finetuneSettings: { type: 'array', items: { type: 'string' } } } },
                  spec: { type: 'object', description: 'the sweep with every default filled in, as it would be stored' },
                },
              }),
            },
            400: errors[400],
          },
        },
      },
      '/sweeps/{id}': {
        get: { summary: 'Sweep status and trial counts', parameters: [idParam], responses: { 200: { description: 'Sweep', ...json(ref('Sweep')) }, 404: errors[404] } },
        delete: {
          summary: 'Delete an ended sweep and its trials; frees the stored models that nothing references any more and no worker stored in the last 3 hours (baselines stay)',
          parameters: [idParam],
          responses: {
            200: { description: 'Deleted', ...json({ type: 'object', properties: { id: { type: 'string' }, deleted: { type: 'boolean' }, trials: { type: 'integer' }, freedArtifacts: { type: 'integer' }, freedBytes: { type: 'integer' } } }) },
            404: errors[404], 409: { description: 'The sweep is running (cancel it first), or cancelled and its workflow still winds down (seconds)', ...json(ref('Error')) },
          },
        },
      },
      '/sweeps/{id}/trials': {
        get: {
          summary: 'The trials with their metrics, ordered by model, seed, method, amount, fine-tuning setting; optionally filtered and paged',
          parameters: [
            idParam,
            { name: 'status', in: 'query', schema: { enum: [...TRIAL_STATUSES] } },
            { name: 'method', in: 'query', schema: { enum: [...METHODS] } },
            { name: 'model', in: 'query', description: 'one model (of the sweep\'s models)', schema: { enum: [...MODELS] } },
            { name: 'finetune', in: 'query', description: 'one fine-tuning setting (a name in the sweep\'s finetuneSettings; "default" without them)', schema: { type: 'string' } },
            { name: 'limit', in: 'query', description: 'at most this many (default: all)', schema: { type: 'integer', minimum: 1 } },
            { name: 'offset', in: 'query', description: 'skip this many first', schema: { type: 'integer', minimum: 0, default: 0 } },
            formatParam('the same trials (every field, config as JSON)'),
          ],
          responses: {
            200: { description: 'Trials', ...jsonOrCsv({ type: 'array', items: ref('Trial') }) },
            400: errors[400], 404: errors[404],
          },
        },
      },
      '/trials/{id}': { get: { summary: 'One trial with its metrics (ids: <sweep id>:<method>:<amount>:<seed>; <sweep id>:<model>:… in a sweep with models; then :<fine-tuning setting> in a sweep with finetuneSettings)', parameters: [idParam], responses: { 200: { description: 'Trial', ...json(ref('Trial')) }, 404: { description: 'Unknown trial', ...json(ref('Error')) } } } },
      '/trials/{id}/model': {
        get: {
          summary: "The trial's model (pruned and fine-tuned; channels removed for structured methods) as TF.js files, in the shape POST /models takes; it outputs logits",
          parameters: [idParam],
          responses: {
            200: { description: 'model.json and its weight file (base64)', ...json({ type: 'object', properties: { name: { type: 'string' }, modelJson: { type: 'object' }, weights: { type: 'object', additionalProperties: { type: 'string' } } } }) },
            404: { description: 'Unknown trial', ...json(ref('Error')) },
            409: { description: 'The trial is not DONE (or its model is stored where the API cannot read it)', ...json(ref('Error')) },
          },
        },
      },
      '/sweeps/{id}/progress': {
        get: {
          summary: 'What the sweep computes now: each trial or baseline a worker holds (phase, 1-based epoch, batch of batches, attempt, last heartbeat, worker) or that waits for one (with why its last attempt failed), bookkeeping steps in flight, and the workers polling the sweep\'s task queue, and an estimate of the time left; empty once the sweep has ended',
          parameters: [idParam],
          responses: { 200: { description: 'Progress', ...json({ type: 'object', properties: { sweepId: { type: 'string' }, status: { type: 'string' }, counts: { type: 'object' }, running: { type: 'array', items: { type: 'object' } }, queue: { type: ['object', 'null'], properties: { name: { type: 'string' }, workers: { type: 'array', items: { type: 'string' } } } },
            estimate: {
              type: ['object', 'null'],
              description: 'the trials in flight at the mean less what they have run, then the unstarted ones on the slots computing at once (held now, at least one per polling worker), at the mean measured duration of the finished ones: a projection, null until a trial has finished or while no worker serves the queue',
              properties: { remainingMs: { type: 'integer' }, remainingTrials: { type: 'integer' }, meanTrialMs: { type: 'number' }, finishedTrials: { type: 'integer' }, parallel: { type: 'integer' } },
            } } }) }, 404: errors[404] },
        },
      },
      '/sweeps/{id}/summary': {
        get: {
          summary: 'Per model x method x amount x fine-tuning setting over the seeds: mean and sample standard deviation of every measured metric, seeds done, failed and unfinished, and whether the cell is on the front of mean accuracy vs mean compression',
          parameters: [idParam, formatParam('the cells (each metric as .mean, .sd, .n)')],
          responses: { 200: { description: 'Summary', ...jsonOrCsv(ref('Summary')) }, 400: errors[400], 404: errors[404] },
        },
      },
      '/sweeps/{id}/pareto': {
        get: {
          summary: 'Nondominated trials (accuracy up, and the objective: compression up by default) and what beats each dominated one',
          parameters: [idParam, { name: 'objective', in: 'query', description: 'compression (1 - nonzero / the trial\'s own baseline params; default), nonzero-params (down), gzip-size (down) or speedup (measured against the baseline, up)', schema: { enum: Object.keys(PARETO_OBJECTIVES) } }, formatParam('every finished trial, on the front or not (onFront, dominatedBy)')],
          responses: { 200: { description: 'Pareto front', ...jsonOrCsv(ref('Pareto')) }, 400: errors[400], 404: errors[404] },
        },
      },
      '/compare': {
        get: {
          summary: 'Sweeps side by side: each one\'s cells (method x amount x fine-tuning setting, mean ± sample sd over its seeds), `pareto` marking the front over all of them',
          parameters: [{ name: 'sweeps', in: 'query', required: true, description: `1 to ${MAX_COMPARED_SWEEPS} sweep ids, comma-separated`, schema: { type: 'string' } }, formatParam('the cells, sweepId first')],
          responses: {
            200: { description: 'Comparison', ...jsonOrCsv({ type: 'object', properties: { sweeps: { type: 'array', items: { type: 'object' } }, cells: { type: 'array', items: { allOf: [{ type: 'object', properties: { sweepId: { type: 'string' } } }, ref('SummaryCell')] } } } }) },
            400: errors[400], 404: errors[404],
          },
        },
      },
      '/schedules': {
        post: {
          summary: 'Create a schedule: the sweep in `sweep` starts at every cron time (in `timezone`), tagged schedule:<id>; a run due while the last one runs is skipped',
          requestBody: { required: true, ...json(ref('CreateSchedule')) },
          responses: { 201: { description: 'Created', ...json(ref('Schedule')) }, 400: errors[400] },
        },
        get: { summary: 'List schedules, with their next runs', responses: { 200: { description: 'Schedules', ...json({ type: 'array', items: ref('Schedule') }) } } },
      },
      '/schedules/{id}': {
        get: { summary: 'One schedule, with the sweep it starts', parameters: [idParam], responses: { 200: { description: 'Schedule', ...json(ref('Schedule')) }, 404: { description: 'Unknown schedule', ...json(ref('Error')) } } },
        delete: { summary: 'Delete a schedule (the sweeps it started stay)', parameters: [idParam], responses: { 200: { description: 'Deleted' }, 404: { description: 'Unknown schedule', ...json(ref('Error')) } } },
      },
      '/schedules/{id}/trigger': { post: { summary: 'Start a run now', parameters: [idParam], responses: { 200: { description: 'Triggered' }, 404: { description: 'Unknown schedule', ...json(ref('Error')) } } } },
      '/schedules/{id}/pause': { post: { summary: 'Stop starting runs', parameters: [idParam], responses: { 200: { description: 'Paused', ...json(ref('Schedule')) }, 404: { description: 'Unknown schedule', ...json(ref('Error')) } } } },
      '/schedules/{id}/unpause': { post: { summary: 'Start runs again', parameters: [idParam], responses: { 200: { description: 'Unpaused', ...json(ref('Schedule')) }, 404: { description: 'Unknown schedule', ...json(ref('Error')) } } } },
      '/models': {
        post: {
          summary: 'Upload a TF.js LayersModel (model.json and its weight files, base64) for sweeps with model "user"; input [null,28,28,1], 10 outputs',
          requestBody: { required: true, ...json(ref('UploadModel')) },
          responses: { 201: { description: 'Stored (content-addressed: the same upload gives the same id)', ...json(ref('UserModel')) }, 400: errors[400], 413: { description: 'Body over 80 MB', ...json(ref('Error')) } },
        },
        get: { summary: 'List uploaded models (newest first)', parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } }], responses: { 200: { description: 'Models', ...json({ type: 'array', items: ref('UserModel') }) } } },
      },
      '/models/{id}': {
        get: { summary: 'One uploaded model', parameters: [idParam], responses: { 200: { description: 'Model', ...json(ref('UserModel')) }, 404: { description: 'Unknown model', ...json(ref('Error')) } } },
        delete: {
          summary: 'Delete an uploaded model (its description and stored bytes) that no sweep and no schedule names; baselines trained from it stay',
          parameters: [idParam],
          responses: {
            200: { description: 'Deleted', ...json({ type: 'object', properties: { id: { type: 'string' }, deleted: { type: 'boolean' }, freedBytes: { type: 'integer' } } }) },
            404: { description: 'Unknown model', ...json(ref('Error')) },
            409: { description: 'Sweeps or schedules name the model (the message names them): delete those first', ...json(ref('Error')) },
          },
        },
      },
      '/sweeps/{id}/resume': {
        post: {
          summary: 'Run the trials of an ended sweep that are not DONE again, on its stored spec (DONE trials and baselines are reused)',
          parameters: [idParam],
          responses: {
            200: { description: 'Resumed', ...json({ type: 'object', properties: { id: { type: 'string' }, resumedTrials: { type: 'integer' }, status: { type: 'string' } } }) },
            404: errors[404],
            409: { description: 'The sweep is still running, or every trial is DONE', ...json(ref('Error')) },
          },
        },
      },
      '/sweeps/{id}/cancel': { post: { summary: 'Cancel a running sweep', parameters: [idParam], responses: { 200: { description: 'Cancellation result' }, 404: errors[404] } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'LOPPER_API_TOKEN, where the API runs with it' } },
      schemas: {
        CreateSweep: z.toJSONSchema(CreateSweepSchema, { io: 'input', unrepresentable: 'any' }),
        UploadModel: z.toJSONSchema(UploadModelSchema, { io: 'input', unrepresentable: 'any' }),
        CreateSchedule: { ...z.toJSONSchema(CreateScheduleSchema, { io: 'input', unrepresentable: 'any' }), description: '`sweep` is a CreateSweep body' },
        Schedule: {
          type: 'object',
          properties: {
            id: { type: 'string' }, name: { type: 'string' }, cron: { type: 'string' }, timezone: { type: 'string' }, paused: { type: 'boolean' },
            nextRuns: { type: 'array', items: { type: 'string', format: 'date-time' } },
            recentRuns: { type: 'array', items: { type: 'object', properties: { scheduledAt: { type: 'string', format: 'date-time' }, startedAt: { type: 'string', format: 'date-time' }, workflowId: { type: 'string' } } } },
            sweepTag: { type: 'string', description: 'GET /sweeps?tag=<sweepTag> lists the sweeps its runs started' }, sweep: ref('CreateSweep'),
          },
        },
        UserModel: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'um-<sha256 of the stored model>: the sweep field userModel' }, name: { type: 'string' }, params: { type: 'integer' },
            inputShape: { type: 'array', items: { type: ['integer', 'null'] } }, sizeBytes: { type: 'integer' }, createdAt: { type: 'string', format: 'date-time' },
          },
        },
        Error: { type: 'object', properties: { statusCode: { type: 'integer' }, message: { type: 'string' }, errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } } } },
        Sweep: {
          type: 'object',
          properties: {
            id: { type: 'string' }, name: { type: 'string' }, model: { type: 'string', description: 'the model, or the models joined by commas' },
            models: { type: 'array', items: { type: 'string' } }, dataset: { type: 'string' },
            status: { enum: ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] }, tags: { type: 'array', items: { type: 'string' } },
            totalTrials: { type: 'integer' },
            counts: { type: 'object', properties: { pending: { type: 'integer' }, running: { type: 'integer' }, done: { type: 'integer' }, failed: { type: 'integer' } } },
            baselineAccuracy: { ...nullableNumber, description: 'mean over the baselines' }, baselineParams: { ...nullableNumber, description: 'the baselines\' parameter count where they all have the same (one model), else null' },
            baselines: { type: 'array', items: { type: 'object', properties: { model: { type: 'string' }, seed: { type: 'integer' }, accuracy: { type: 'number' }, totalParams: { type: 'integer' } } } },
            error: { type: ['string', 'null'] },
            createdAt: { type: 'string', format: 'date-time' }, finishedAt: { type: ['string', 'null'], format: 'date-time' }, spec: ref('CreateSweep'),
          },
        },
        Trial: {
          type: 'object',
          properties: {
            id: { type: 'string' }, model: { type: 'string' }, method: { type: 'string' }, amount: { type: 'number' }, seed: { type: 'integer' }, finetune: { type: 'string' },
            status: { enum: ['PENDING', 'RUNNING', 'DONE', 'FAILED'] }, accuracy: nullableNumber, accuracyDrop: nullableNumber,
            totalParams: nullableNumber, nonzeroParams: nullableNumber, baselineParams: nullableNumber, compressionRate: { ...nullableNumber, description: '1 - nonzero / baseline params' },
            flops: nullableNumber, effectiveFlops: nullableNumber,
            latencyMs: { ...nullableNumber, description: 'median inference time of a 64-image batch (ms)' }, baselineLatencyMs: nullableNumber,
            speedup: { ...nullableNumber, description: 'baselineLatencyMs / latencyMs, measured in the same worker process' },
            sizeBytes: nullableNumber, gzipBytes: nullableNumber, durationMs: nullableNumber, backend: { type: ['string', 'null'] }, device: { type: ['string', 'null'] },
            attempts: { type: 'integer' }, error: { type: ['string', 'null'] }, config: { type: 'object' },
          },
        },
        Spread: { type: ['object', 'null'], properties: { mean: { type: 'number' }, sd: { type: 'number', description: 'sample standard deviation (n - 1)' }, n: { type: 'integer' } } },
        Summary: {
          type: 'object',
          properties: {
            sweepId: { type: 'string' },
            cells: { type: 'array', items: ref('SummaryCell') },
          },
        },
        SummaryCell: {
          type: 'object',
          properties: {
            model: { type: 'string' }, method: { type: 'string' }, amount: { type: 'number' }, finetune: { type: 'string' }, seeds: { type: 'array', items: { type: 'integer' } }, failed: { type: 'integer' }, unfinished: { type: 'integer' },
            ...Object.fromEntries(['accuracy', 'accuracyDrop', 'compressionRate', 'paramsRemoved', 'nonzeroParams', 'effectiveFlops', 'speedup', 'sizeBytes', 'gzipBytes'].map((k) => [k, ref('Spread')])),
            pareto: { type: 'boolean' },
          },
        },
        ParetoPoint: { type: 'object', properties: { trialId: { type: 'string' }, model: { type: 'string' }, method: { type: 'string' }, amount: { type: 'number' }, seed: { type: 'integer' }, finetune: { type: 'string' }, accuracy: { type: 'number' }, compressionRate: { type: 'number' }, nonzeroParams: nullableNumber, gzipBytes: nullableNumber, speedup: nullableNumber } },
        Pareto: {
          type: 'object',
          properties: {
            sweepId: { type: 'string' }, objective: { enum: Object.keys(PARETO_OBJECTIVES) }, objectives: { type: 'object', additionalProperties: { enum: ['max', 'min'] } },
            front: { type: 'array', items: ref('ParetoPoint') },
            dominated: { type: 'array', items: { allOf: [ref('ParetoPoint'), { type: 'object', properties: { dominatedBy: { type: 'array', items: { type: 'string' } } } }] } },
          },
        },
      },
    },
  };
}
