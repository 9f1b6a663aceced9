/**
 * Reads the YAML subset the examples are written in (block mappings and sequences, `- key:`
 * items, plain, quoted and JSON-style flow scalars, comments), so tests can take commands and
 * environments from examples/kubernetes/job.yaml itself. Not a general YAML parser: anchors,
 * multi-line scalars and multiple documents are refused.
 */
interface Line {
  indent: number;
  text: string;
  number: number;
}

const KEY = /^([A-Za-z0-9_.\/-]+):(?:\s+(.*))?$/;

function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote && text[i - 1] !== '\\') quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

function scalar(text: string, line: Line): unknown {
  const t = text.trim();
  if (/^[&*!|>]/.test(t) || t === '---') throw new Error(`yaml-subset: line ${line.number}: '${t}' is outside the supported subset`);
  if (t.startsWith('"') || t.startsWith('[') || t.startsWith('{')) return JSON.parse(t);
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null' || t === '~' || t === '') return null;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return t;
}

export function parseYamlSubset(source: string): unknown {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, k) => {
    const text = stripComment(raw);
    if (text.trim() === '') return;
    if (raw.includes('\t')) throw new Error(`yaml-subset: line ${k + 1}: tabs are not YAML indentation`);
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), number: k + 1 });
  });

  const block = (i: number, indent: number): [unknown, number] => (lines[i].text.startsWith('- ') ? sequence(i, indent) : mapping(i, indent));

  const mapping = (i: number, indent: number): [Record<string, unknown>, number] => {
    const out: Record<string, unknown> = {};
    while (i < lines.length && lines[i].indent === indent && !lines[i].text.startsWith('- ')) {
      const m = KEY.exec(lines[i].text);
      if (!m) throw new Error(`yaml-subset: line ${lines[i].number}: expected 'key: value', got '${lines[i].text}'`);
      const line = lines[i++];
      if (m[2] !== undefined && m[2] !== '') {
        out[m[1]] = scalar(m[2], line);
        continue;
      }
      const next = lines[i];
      if (next && (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')))) [out[m[1]], i] = block(i, next.indent);
      else out[m[1]] = null;
    }
    if (i < lines.length && lines[i].indent > indent) throw new Error(`yaml-subset: line ${lines[i].number}: unexpected indentation`);
    return [out, i];
  };

  const sequence = (i: number, indent: number): [unknown[], number] => {
    const out: unknown[] = [];
    while (i < lines.length && lines[i].indent === indent && lines[i].text.startsWith('- ')) {
      const item = lines[i].text.slice(2).trim();
      if (KEY.test(item)) {
        // '- key: value' opens a mapping whose other keys are indented to the item's text.
        lines[i] = { ...lines[i], indent: indent + 2, text: item };
        const [value, next] = mapping(i, indent + 2);
        out.push(value);
        i = next;
      } else {
        out.push(scalar(item, lines[i]));
        i++;
      }
    }
    return [out, i];
  };

  if (lines.length === 0) return null;
  const [value, end] = block(0, lines[0].indent);
  if (end !== lines.length) throw new Error(`yaml-subset: line ${lines[end].number}: unexpected content`);
  return value;
}
