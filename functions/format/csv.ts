/**
 * One CSV line (RFC 4180 quoting: fields in double quotes may hold commas and "" for a quote).
 * Records are lines, as for every input format, so a quoted field cannot span lines.
 */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) throw new Error('unterminated quoted field');
        value += line.slice(j, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      fields.push(value);
      if (j >= line.length) return fields;
      if (line.charCodeAt(j) !== 44) throw new Error(`unexpected character after a quoted field at column ${j + 1}`);
      i = j + 1;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, c));
      i = c + 1;
    }
  }
}
