/** A CSV body as a download: its content type and a file name made of the resource's id. */
import type { Response } from 'express';

export function csvDownload(res: Response, name: string, body: string): string {
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/[^\w.-]/g, '_')}.csv"`);
  return body;
}
