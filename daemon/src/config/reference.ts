import { CONFIG_SCHEMA, ENV_OTHER, ENV_OVERRIDES } from './schema.ts';

/**
 * The rows of docs/config.md's reference tables, generated from the schema. A test compares
 * them cell by cell with the tables in the doc (whitespace aside, so the formatter may align
 * columns), which keeps the doc equal to what the parser accepts.
 */

/** Column headers of a section's table. */
export const REFERENCE_COLUMNS = ['key', 'type', 'default', 'accepted', 'meaning'] as const;

function code(text: string): string {
  return `\`${text}\``;
}

/** Table cell text: `<` would start an HTML tag in Markdown (`<peer id>`). */
function prose(text: string): string {
  return text.replaceAll('<', '&lt;');
}

/** One table per section, keyed by its heading text (`[node]`, `[[grants]]`): rows of cells. */
export function configReferenceTables(): Map<string, string[][]> {
  const tables = new Map<string, string[][]>();
  for (const section of CONFIG_SCHEMA) {
    const heading = section.array ? `[[${section.name}]]` : `[${section.name}]`;
    tables.set(
      heading,
      section.fields.map((field) => [
        code(field.key),
        field.kind.type,
        field.default === undefined
          ? field.required === true
            ? 'required'
            : 'optional'
          : code(field.kind.toToml(field.default)),
        prose(field.kind.expected),
        prose(field.doc),
      ]),
    );
  }
  tables.set('environment', [
    ...ENV_OVERRIDES.map((e) => [code(e.name), code(e.keyPath), prose(e.doc)]),
    ...ENV_OTHER.map((e) => [code(e.name), '', prose(e.doc)]),
  ]);
  return tables;
}
