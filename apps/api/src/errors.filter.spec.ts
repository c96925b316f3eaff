import { jest } from '@jest/globals';
import { BadRequestException, HttpException, type ArgumentsHost } from '@nestjs/common';
import { Conflict, NotFound, ValidationError } from './errors.js';
import { ErrorsFilter } from './errors.filter.js';

/** What the filter answers for `err`: status and JSON body. */
function answer(err: unknown): { status: number; body: Record<string, unknown> } {
  const out = { status: 0, body: {} as Record<string, unknown> };
  const res = { status: (s: number) => ((out.status = s), res), json: (b: Record<string, unknown>) => ((out.body = b), res) };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new ErrorsFilter().catch(err, host);
  return out;
}

/** body-parser's errors as Nest's Express adapter hands them on (mapException): an HttpException whose cause is the parser's. */
const parserError = (props: Record<string, unknown>, status: number) => {
  const cause = Object.assign(new Error(String(props.message)), props);
  return status === 400 ? new BadRequestException(cause.message, { cause }) : new HttpException(cause.message, status, { cause });
};

describe('ErrorsFilter', () => {
  it('names the body when it is not JSON, or too large', () => {
    const bad = answer(parserError({ type: 'entity.parse.failed', message: 'Unexpected end of JSON input', status: 400 }, 400));
    expect(bad).toEqual({ status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'body: is not valid JSON (Unexpected end of JSON input)', errors: [{ field: 'body', message: 'is not valid JSON (Unexpected end of JSON input)' }] } });
    const big = answer(parserError({ type: 'entity.too.large', message: 'request entity too large', length: 90_000_000, limit: 83_886_080 }, 413));
    expect(big.status).toBe(413);
    expect(big.body.errors).toEqual([{ field: 'body', message: 'is 90000000 bytes, over the limit of 83886080 bytes' }]);
  });

  it('maps domain errors to 400, 404 and 409, other HTTP errors as they are, anything else to 500', () => {
    expect(answer(new ValidationError([{ field: 'seeds', message: 'must be an array (got string)' }]))).toEqual({ status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'seeds: must be an array (got string)', errors: [{ field: 'seeds', message: 'must be an array (got string)' }] } });
    expect(answer(new NotFound('sweep x not found')).status).toBe(404);
    expect(answer(new Conflict('busy')).status).toBe(409);
    expect(answer(new HttpException('gone', 410))).toEqual({ status: 410, body: { statusCode: 410, message: 'gone' } });
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(answer(new Error('boom'))).toEqual({ status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'boom' } });
    log.mockRestore();
  });
});
