import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readSpecFile } from '../../../cli/src/commands.js';
import type { ValidationError } from '../errors.js';
import { parseCompareQuery, parseParetoQuery, parseSummaryQuery, parseSweepListQuery, parseSweepSpec, parseTrialQuery } from './sweeps.dto.js';

const ok = { name: 'n', model: 'mlp', methods: ['l1-unstructured'], amounts: [0.5], seeds: [1], baselineEpochs: 1, finetuneEpochs: 1 };
const errors = (body: unknown, cap = 100) => {
  try { parseSweepSpec(body, cap); } catch (e) { return (e as ValidationError).errors; }
  throw new Error('expected a ValidationError');
};
const fields = (body: unknown, cap = 100) => errors(body, cap).map((x) => x.field);

describe('parseSweepSpec', () => {
  it('fills defaults', () => {
    expect(parseSweepSpec(ok, 100)).toMatchObject({ dataset: 'fashion-mnist', batchSize: 128, learningRate: 1e-3, concurrency: 4, requireGpu: false, tags: [] });
  });
  it('names every bad field', () => {
    expect(fields({ ...ok, model: 'x', amounts: [1, 0.2, -1], seeds: [1.5] })).toEqual(['model', 'amounts.0', 'amounts.2', 'seeds.0']);
    expect(fields({ ...ok, methods: [] })).toEqual(['methods']);
    expect(fields({ ...ok, extra: 1 })).toEqual(['body']);
    expect(fields(null)).toEqual(['body']);
    expect(fields('x')).toEqual(['body']);
    expect(fields({ ...ok, trainSubset: 0 })).toEqual(['trainSubset']);
  });
  it('says which fields are missing, and what each takes', () => {
    const { seeds: _s, baselineEpochs: _b, ...partial } = ok as Record<string, unknown>;
    expect(errors(partial)).toEqual([{ field: 'seeds', message: 'is required (array)' }, { field: 'baselineEpochs', message: 'is required (number)' }]);
    expect(errors({ ...ok, seeds: 'x' })).toEqual([{ field: 'seeds', message: 'must be an array (got string)' }]);
  });
  it('enforces the grid cap', () => {
    const big = { ...ok, amounts: [0.1, 0.2, 0.3], seeds: [1, 2] };
    expect(parseSweepSpec(big, 6).seeds).toEqual([1, 2]);
    expect(fields(big, 5)).toEqual(['methods x amounts x seeds']);
  });
  it('validates method options and method/model fit', () => {
    expect(parseSweepSpec({ ...ok, model: 'lenet5', methods: ['network-slimming'] }, 10).slimming).toEqual({ lambda: 1e-4, sparsityEpochs: 1 });
    expect(fields({ ...ok, methods: ['network-slimming'] })).toEqual(['methods']); // mlp has no BatchNorm
    expect(parseSweepSpec({ ...ok, model: 'resnet-small', methods: ['l1-structured', 'network-slimming', 'taylor-structured'] }, 10).model).toBe('resnet-small'); // surgery across residual adds
    expect(parseSweepSpec({ ...ok, model: 'vgg-small', methods: ['network-slimming', 'l1-structured'] }, 10).model).toBe('vgg-small');
    expect(fields({ ...ok, slimming: { lambda: 0 } })).toEqual(['slimming.lambda']);
    expect(fields({ ...ok, slimming: { lambda: 1e-4, bogus: 1 } })).toEqual(['slimming']);
    expect(fields({ ...ok, structured: { minKeepFraction: 1 } })).toEqual(['structured.minKeepFraction']);
  });
  it('takes BatchNorm recalibration (batches; 0, the default, is off) for models that can have BatchNorm', () => {
    expect(parseSweepSpec(ok, 10).batchNormRecalibration).toBe(0);
    expect(parseSweepSpec({ ...ok, model: 'vgg-small', batchNormRecalibration: 20 }, 10).batchNormRecalibration).toBe(20);
    expect(parseSweepSpec({ ...ok, models: ['mlp', 'lenet5'], model: undefined, batchNormRecalibration: 5 }, 10).batchNormRecalibration).toBe(5); // lenet5's
    expect(parseSweepSpec({ ...ok, model: 'user', userModel: `um-${'a'.repeat(64)}`, batchNormRecalibration: 5 }, 10).batchNormRecalibration).toBe(5); // checked on load
    expect(errors({ ...ok, batchNormRecalibration: 20 })).toEqual([{ field: 'batchNormRecalibration', message: 'recalibrates BatchNorm layers, and model is "mlp", without any: remove it or use lenet5, vgg-small, resnet-small' }]);
    expect(errors({ ...ok, model: 'lenet5', batchNormRecalibration: 2.5 })).toEqual([{ field: 'batchNormRecalibration', message: 'must be an integer' }]);
    expect(errors({ ...ok, model: 'lenet5', batchNormRecalibration: -1 })).toEqual([{ field: 'batchNormRecalibration', message: 'must be >= 0' }]);
    expect(parseSweepSpec({ ...ok, batchNormRecalibration: 0 }, 10).batchNormRecalibration).toBe(0); // the default, re-posted from a stored spec
  });
  it('takes ln-structured\'s norm order and the gradual schedule, naming each bad field', () => {
    const spec = parseSweepSpec({ ...ok, methods: ['ln-structured', 'random-structured', 'gradual-l1-unstructured'] }, 10);
    expect(spec.structured.norm).toBe(2);
    expect(spec.gradual).toEqual({ schedule: 'polynomial', begin: 0, end: 0.7, updates: 10, power: 3, increment: 0.1 });
    for (const norm of [1, 3, 'inf', '-inf', 'fro']) expect(parseSweepSpec({ ...ok, methods: ['ln-structured'], structured: { norm } }, 10).structured.norm).toBe(norm);
    for (const norm of [0, -1, 'max', null]) expect(fields({ ...ok, structured: { norm } })).toEqual(['structured.norm']);
    expect(spec.structured.flopsPenalty).toBe(0);
    expect(parseSweepSpec({ ...ok, methods: ['taylor-structured'], structured: { flopsPenalty: 0.25 } }, 10).structured).toMatchObject({ flopsPenalty: 0.25, norm: 2, minKeepFraction: 0.1 });
    for (const flopsPenalty of [-0.1, 11, '0.2', null]) expect(fields({ ...ok, structured: { flopsPenalty } })).toEqual(['structured.flopsPenalty']);
    expect(parseSweepSpec({ ...ok, methods: ['gradual-l1-unstructured'], gradual: { schedule: 'linear-step', increment: 0.05 } }, 10).gradual).toEqual({ schedule: 'linear-step', begin: 0, end: 0.7, updates: 10, power: 3, increment: 0.05 });
    expect(fields({ ...ok, gradual: { schedule: 'cubic' } })).toEqual(['gradual.schedule']);
    expect(fields({ ...ok, gradual: { begin: 0.5, end: 0.5 } })).toEqual(['gradual.end']);
    expect(fields({ ...ok, gradual: { updates: 0, power: 0, increment: 1, end: 1.5 } })).toEqual(['gradual.end', 'gradual.updates', 'gradual.power', 'gradual.increment']);
    expect(fields({ ...ok, gradual: { steps: 3 } })).toEqual(['gradual']);
    // Scheduled methods prune during fine-tuning: they need at least one epoch of it.
    expect(fields({ ...ok, methods: ['l1-unstructured', 'hybrid'], finetuneEpochs: 0 })).toEqual(['finetuneEpochs']);
    expect(parseSweepSpec({ ...ok, finetuneEpochs: 0 }, 10).finetuneEpochs).toBe(0);
  });
  it('refuses an option that no method of the sweep reads, naming it and what reads it', () => {
    const errors = (body: unknown) => {
      try { parseSweepSpec(body, 100); } catch (e) { return (e as ValidationError).errors; }
      throw new Error('expected a ValidationError');
    };
    // flopsPenalty is Taylor's: with magnitude methods only it would change nothing.
    expect(errors({ ...ok, methods: ['l1-structured', 'network-slimming'], model: 'lenet5', structured: { flopsPenalty: 0.3 } })).toEqual([
      { field: 'structured.flopsPenalty', message: 'is read by taylor-structured only, and methods (l1-structured, network-slimming) include none of them: remove it or add such a method' },
    ]);
    expect(fields({ ...ok, slimming: { lambda: 1e-3 }, gradual: { power: 2 }, structured: { norm: 1, minKeepFraction: 0.2, importanceBatches: 4, hybridChannelFraction: 0.3 } }))
      .toEqual(['slimming', 'structured.minKeepFraction', 'structured.importanceBatches', 'structured.hybridChannelFraction', 'structured.norm', 'gradual']);
    expect(errors({ ...ok, structured: { minKeepFraction: 0.2 } })[0].message).toMatch(/^is read by the structured methods only/);
    // One reader in the sweep is enough, and each option has one.
    const all = { ...ok, model: 'lenet5', methods: ['l1-unstructured', 'network-slimming', 'ln-structured', 'taylor-structured', 'hybrid'] };
    const given = { slimming: { lambda: 1e-3 }, gradual: { power: 2 }, structured: { norm: 1, minKeepFraction: 0.2, importanceBatches: 4, hybridChannelFraction: 0.3, flopsPenalty: 0.1 } };
    expect(parseSweepSpec({ ...all, ...given }, 100)).toMatchObject(given);
    expect(fields({ ...all, methods: ['gradient-structured'], structured: { importanceBatches: 4, flopsPenalty: 0.1 } })).toEqual(['structured.flopsPenalty']);
    // Defaults are not "given": a bare sweep of any one method passes, and so does a stored spec (every default filled in).
    const stored = parseSweepSpec({ ...ok, methods: ['network-slimming', 'gradual-l1-unstructured'], model: 'lenet5', slimming: { lambda: 1e-3 } }, 10);
    expect(parseSweepSpec({ ...stored, methods: ['l1-unstructured'], slimming: { lambda: 1e-4, sparsityEpochs: 1 } }, 10).methods).toEqual(['l1-unstructured']);
    expect(fields({ ...stored, methods: ['l1-unstructured'] })).toEqual(['slimming']); // its non-default slimming: still refused
    for (const m of ['l1-unstructured', 'random-unstructured', 'l1-structured', 'gradient-structured']) expect(parseSweepSpec({ ...ok, methods: [m] }, 10).methods).toEqual([m]);
    // Fine-tuning options without fine-tuning.
    expect(fields({ ...ok, finetuneEpochs: 0, finetune: { unprunedLrMultiplier: 0.1 }, finetuneLearningRate: 1e-4 })).toEqual(['finetune', 'finetuneLearningRate']);
    expect(parseSweepSpec({ ...ok, finetune: { unprunedLrMultiplier: 0.1 }, finetuneLearningRate: 1e-4 }, 10).finetuneLearningRate).toBe(1e-4);
  });
  it('takes a model axis: models instead of model, each checked against the methods and the user model', () => {
    const { model: _, ...noModel } = ok;
    const spec = parseSweepSpec({ ...noModel, models: ['lenet5', 'mlp', 'lenet5'] }, 100);
    expect([spec.model, spec.models]).toEqual(['lenet5', ['lenet5', 'mlp']]); // model: the first; duplicates dropped
    expect(parseSweepSpec(ok, 100).models).toBeUndefined();
    expect(fields({ ...noModel, models: ['lenet5', 'mlp'], seeds: [1, 2, 3] }, 5)).toEqual(['models x methods x amounts x seeds']);
    expect(fields({ ...ok, models: ['lenet5', 'mlp'] })).toEqual(['models']); // both, model not the first of models
    expect(parseSweepSpec({ ...spec }, 100)).toEqual(spec); // a stored spec (both fields) is taken back unchanged
    expect(fields(noModel)).toEqual(['model']); // neither
    expect(fields({ ...noModel, models: [] })).toEqual(['models']);
    expect(fields({ ...noModel, models: ['mlp', 'big'] })).toEqual(['models.1']);
    expect(fields({ ...noModel, models: ['lenet5', 'mlp'], methods: ['network-slimming'] })).toEqual(['methods']); // mlp has no BatchNorm
    const um = 'um-' + 'a'.repeat(64);
    expect(parseSweepSpec({ ...noModel, models: ['user', 'lenet5'], userModel: um }, 10).models).toEqual(['user', 'lenet5']);
    expect(fields({ ...noModel, models: ['user', 'lenet5'] })).toEqual(['userModel']);
    expect(fields({ ...noModel, models: ['mlp', 'lenet5'], userModel: um })).toEqual(['userModel']);
    expect(fields({ ...noModel, models: ['user', 'lenet5'], userModel: um, baselineEpochs: 0 })).toEqual(['baselineEpochs']); // lenet5 must train
    expect(parseSweepSpec({ ...noModel, models: ['user'], userModel: um, baselineEpochs: 0 }, 10).baselineEpochs).toBe(0);
  });
  it('takes a fine-tuning axis: named settings over the sweep\'s own fields, each bad one named', () => {
    const axis = { ...ok, finetuneEpochs: 2, finetuneSettings: [{ name: 'none', finetuneEpochs: 0 }, { name: 'kd', finetune: { distill: { temperature: 4, alpha: 0.5 } } }, { name: 'long.cos', finetuneEpochs: 6, finetuneLearningRate: 1e-3 }] };
    const spec = parseSweepSpec(axis, 100);
    // Stored as given: a setting's finetune holds only the keys it sets (no defaults filled in over the sweep's).
    expect(spec.finetuneSettings).toEqual([{ name: 'none', finetuneEpochs: 0 }, { name: 'kd', finetune: { distill: { temperature: 4, alpha: 0.5 } } }, { name: 'long.cos', finetuneEpochs: 6, finetuneLearningRate: 1e-3 }]);
    expect(fields(axis, 2)).toEqual(['methods x amounts x seeds x finetuneSettings']); // 1 x 1 x 1 x 3
    expect(fields({ ...ok, finetuneSettings: [] })).toEqual(['finetuneSettings']);
    expect(fields({ ...ok, finetuneSettings: [{ name: 'a:b' }, { name: '' }, { name: 'x', finetuneEpochs: -1 }, { name: 'y', bogus: 1 }] })).toEqual(['finetuneSettings.0.name', 'finetuneSettings.1.name', 'finetuneSettings.2.finetuneEpochs', 'finetuneSettings.3']);
    expect(fields({ ...ok, finetuneSettings: [{ name: 'x', finetune: { lrSchedule: 'step' } }] })).toEqual(['finetuneSettings.0.finetune.lrSchedule']);
    expect(fields({ ...ok, finetuneSettings: [{ name: 'a' }, { name: 'b' }, { name: 'a' }] })).toEqual(['finetuneSettings.2.name']);
    // Scheduled methods prune while fine-tuning: every setting must fine-tune (its own epochs, or the sweep's it inherits).
    const gradual = { ...ok, methods: ['gradual-l1-unstructured'], finetuneEpochs: 0 };
    expect(fields({ ...gradual, finetuneSettings: [{ name: 'a', finetuneEpochs: 2 }, { name: 'b' }] })).toEqual(['finetuneSettings.1.finetuneEpochs']);
    expect(parseSweepSpec({ ...gradual, finetuneSettings: [{ name: 'a', finetuneEpochs: 2 }] }, 10).finetuneSettings).toHaveLength(1);
    // Fine-tuning options nothing reads: a setting's, where it does not fine-tune; the sweep's, where no setting does.
    expect(fields({ ...ok, finetuneSettings: [{ name: 'a', finetuneEpochs: 0, finetune: { lrSchedule: 'constant' }, finetuneLearningRate: 0.1 }, { name: 'b' }] }))
      .toEqual(['finetuneSettings.0.finetune', 'finetuneSettings.0.finetuneLearningRate']);
    expect(fields({ ...ok, finetuneEpochs: 0, finetune: { lrSchedule: 'constant' }, finetuneSettings: [{ name: 'a' }, { name: 'b' }] })).toEqual(['finetune']);
    expect(parseSweepSpec({ ...ok, finetuneEpochs: 0, finetune: { lrSchedule: 'constant' }, finetuneSettings: [{ name: 'a' }, { name: 'b', finetuneEpochs: 1 }] }, 10).finetune.lrSchedule).toBe('constant');
  });
  it('takes a user model by the id POST /models returned, with baselineEpochs 0 allowed for it only', () => {
    const id = `um-${'a'.repeat(64)}`;
    expect(parseSweepSpec({ ...ok, model: 'user', userModel: id, baselineEpochs: 0, methods: ['network-slimming'] }, 10)).toMatchObject({ model: 'user', userModel: id, baselineEpochs: 0 });
    expect(fields({ ...ok, model: 'user' })).toEqual(['userModel']);
    expect(fields({ ...ok, model: 'user', userModel: 'um-123' })).toEqual(['userModel']);
    expect(fields({ ...ok, userModel: id })).toEqual(['userModel']);
    expect(fields({ ...ok, baselineEpochs: 0 })).toEqual(['baselineEpochs']);
  });
  it('accepts every sweep in examples/ as it stands', () => {
    const files = readdirSync('examples').filter((f) => /\.(json|ya?ml)$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['quick-sweep.json', 'tutorial-sweep.yaml']));
    for (const f of files) expect(parseSweepSpec(readSpecFile(join('examples', f)), 10_000).name).toBe(f.replace(/\.\w+$/, ''));
    const tutorial = parseSweepSpec(readSpecFile('examples/tutorial-sweep.yaml'), 10_000);
    expect(tutorial.gradual).toEqual({ schedule: 'linear-step', begin: 0, end: 0.7, updates: 10, power: 3, increment: 0.1 });
    expect(tutorial.methods).toHaveLength(10);
  });
  it('accepts amount 0 and rejects 1 (the API takes fractions in [0, 1))', () => {
    expect(parseSweepSpec({ ...ok, amounts: [0] }, 10).amounts).toEqual([0]);
    expect(fields({ ...ok, amounts: [1] })).toEqual(['amounts.0']);
  });
});

describe('parseTrialQuery', () => {
  const errors = (q: Record<string, unknown>) => {
    try { parseTrialQuery(q); } catch (e) { return (e as ValidationError).errors; }
    throw new Error('expected a ValidationError');
  };
  it('takes the filters and the page, all optional', () => {
    expect(parseTrialQuery({})).toEqual({ status: undefined, method: undefined, limit: undefined, offset: 0, format: 'json' });
    expect(parseTrialQuery({ status: 'FAILED', method: 'hybrid', limit: '20', offset: '40' })).toEqual({ status: 'FAILED', method: 'hybrid', limit: 20, offset: 40, format: 'json' });
    expect(parseTrialQuery({ format: 'csv' }).format).toBe('csv');
  });
  it('names each bad or unknown parameter', () => {
    expect(errors({ status: 'done' })).toEqual([{ field: 'status', message: 'must be one of PENDING, RUNNING, DONE, FAILED (got "done")' }]);
    expect(errors({ method: 'magic' })[0].field).toBe('method');
    expect(errors({ limit: '0' })[0]).toEqual({ field: 'limit', message: 'must be an integer in [1, 1000000] (got "0")' });
    expect(errors({ offset: '-1' })[0].field).toBe('offset');
    expect(errors({ format: 'xlsx' })).toEqual([{ field: 'format', message: 'must be one of json, csv (got "xlsx")' }]);
    expect(errors({ page: '2', sort: 'accuracy' })).toEqual([
      { field: 'page', message: 'unknown query parameter (status, method, model, finetune, limit, offset, format)' },
      { field: 'sort', message: 'unknown query parameter (status, method, model, finetune, limit, offset, format)' },
    ]);
  });
});

describe('parseCompareQuery', () => {
  const errors = (q: Record<string, unknown>) => {
    try { parseCompareQuery(q); } catch (e) { return (e as ValidationError).errors; }
    throw new Error('expected a ValidationError');
  };
  it('takes 1 to 20 sweep ids, each once, in order', () => {
    expect(parseCompareQuery({ sweeps: 'sw-b, sw-a,sw-b,' })).toEqual({ sweeps: ['sw-b', 'sw-a'], format: 'json' });
    expect(parseCompareQuery({ sweeps: 'sw-a', format: 'csv' })).toEqual({ sweeps: ['sw-a'], format: 'csv' });
    expect(errors({})).toEqual([{ field: 'sweeps', message: 'must list 1 to 20 sweep ids, comma-separated (got 0)' }]);
    expect(errors({ sweeps: Array.from({ length: 21 }, (_, i) => `s${i}`).join(',') })[0].message).toMatch(/\(got 21\)$/);
    expect(errors({ sweeps: 'a', ids: 'b' })).toEqual([{ field: 'ids', message: 'unknown query parameter (sweeps, format)' }]);
    expect(errors({ sweeps: 'a', format: 'tsv' })).toEqual([{ field: 'format', message: 'must be one of json, csv (got "tsv")' }]);
  });
});

describe('parseSweepListQuery', () => {
  it('takes a page size, a tag, a status and where the last page ended, naming each bad one', () => {
    expect(parseSweepListQuery({})).toEqual({ limit: 50, tag: undefined, status: undefined });
    expect(parseSweepListQuery({ before: 'sw-9' })).toEqual({ limit: 50, tag: undefined, status: undefined, beforeId: 'sw-9' });
    expect(parseSweepListQuery({ limit: '5', tag: 'schedule:sc-1', status: 'FAILED', before: '2026-11-29T02:00:00.000Z' }))
      .toEqual({ limit: 5, tag: 'schedule:sc-1', status: 'FAILED', before: new Date('2026-11-29T02:00:00.000Z') });
    const fields = (q: Record<string, unknown>) => { try { parseSweepListQuery(q); } catch (e) { return (e as ValidationError).errors.map((x) => x.field); } return []; };
    expect(fields({ before: '2026-13-45T00:00:00Z' })).toEqual(['before']);
    expect(fields({ status: 'DONE' })).toEqual(['status']);
    expect(fields({ limit: '0' })).toEqual(['limit']);
    expect(fields({ offset: '2' })).toEqual(['offset']);
  });
});

describe('parseSummaryQuery', () => {
  it('takes only the body format, json by default', () => {
    expect(parseSummaryQuery({})).toEqual({ format: 'json' });
    expect(parseSummaryQuery({ format: 'csv' })).toEqual({ format: 'csv' });
    const err = (q: Record<string, unknown>) => { try { parseSummaryQuery(q); } catch (e) { return (e as ValidationError).errors; } return []; };
    expect(err({ format: 'CSV' })).toEqual([{ field: 'format', message: 'must be one of json, csv (got "CSV")' }]);
    expect(err({ seed: '1' })).toEqual([{ field: 'seed', message: 'unknown query parameter (format)' }]);
  });
});

describe('parseParetoQuery', () => {
  it('takes what accuracy is traded against, compression by default, naming a bad one', () => {
    expect(parseParetoQuery({})).toEqual({ objective: 'compression', format: 'json' });
    expect(parseParetoQuery({ objective: 'speedup', format: 'csv' })).toEqual({ objective: 'speedup', format: 'csv' });
    for (const objective of ['compression', 'nonzero-params', 'gzip-size', 'speedup']) expect(parseParetoQuery({ objective })).toEqual({ objective, format: 'json' });
    const err = (q: Record<string, unknown>) => { try { parseParetoQuery(q); } catch (e) { return (e as ValidationError).errors; } return []; };
    expect(err({ objective: 'size' })[0].field).toBe('objective');
    expect(err({ by: 'size' })[0]).toEqual({ field: 'by', message: 'unknown query parameter (objective, format)' });
    expect(err({ format: 'xml' })[0].field).toBe('format');
  });
});
