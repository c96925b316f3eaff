/** RFC 4180, as a spreadsheet or pandas reads it: quoted fields may hold commas, doubled quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += ch;
  }
  row.push(field);
  rows.push(row);
  return rows;
}
/** The rows after the header, as objects by column name. */
export const records = (text: string) => { const [head, ...rest] = parseCsv(text); return rest.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]]))); };
