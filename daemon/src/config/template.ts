import { CONFIG_SCHEMA, ENV_OTHER, ENV_OVERRIDES, type FieldSpec } from './schema.ts';

/**
 * The commented config.toml `gojinn init` writes, generated from the schema so it cannot drift
 * from what the parser accepts. Every key appears as `# key = <default>`: the file as written
 * means "all defaults", and uncommenting any line keeps the same value until it is edited.
 * Lines starting with `##` are explanations.
 */

function fieldLines(field: FieldSpec, prefix: string): string[] {
  const lines = [`${prefix}## ${field.doc}`, `${prefix}## ${field.kind.type}: ${field.kind.expected}`];
  if (field.default === undefined) {
    lines.push(`${prefix}## ${field.required === true ? 'required' : 'optional'}`);
  } else {
    lines.push(`${prefix}# ${field.key} = ${field.kind.toToml(field.default)}`);
  }
  return lines;
}

export function renderConfigTemplate(): string {
  const lines = [
    '## Gojinn node configuration, written by `gojinn init`. docs/config.md is the reference.',
    '## Every key is shown commented out with its default ("# key = value"): uncomment a line',
    '## and edit it to change a setting. An unknown key, a wrong type or an out-of-range value',
    '## stops the daemon with a message naming this file, the key and what was expected.',
    '##',
    '## Environment variables:',
    ...ENV_OVERRIDES.map((e) => `##   ${e.name} overrides ${e.keyPath}: ${e.doc}`),
    ...ENV_OTHER.map((e) => `##   ${e.name}: ${e.doc}`),
  ];
  for (const section of CONFIG_SCHEMA) {
    lines.push('');
    if (section.array) {
      lines.push(
        `## [[${section.name}]] ${section.doc}`,
        `## Repeat the [[${section.name}]] table once per entry (at most ${section.maxEntries}). Keys of an entry:`,
      );
      for (const field of section.fields) {
        lines.push(
          `##   ${field.key}:`,
          ...fieldLines(field, '').map((l) => `##     ${l.replace(/^##? /, '')}`),
        );
      }
    } else {
      lines.push(`## ${section.doc}`, `[${section.name}]`);
      for (const field of section.fields) lines.push(...fieldLines(field, ''));
    }
  }
  return `${lines.join('\n')}\n`;
}
