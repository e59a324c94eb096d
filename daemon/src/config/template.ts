import { CONFIG_SCHEMA, ENV_OTHER, ENV_OVERRIDES, type FieldSpec } from './schema.ts';

/**
 * The commented config.toml `gojinn init` writes, generated from the schema so it cannot drift
 * from what the parser accepts. Every key appears as `# key = <default>`: the file as written
 * means "all defaults", and uncommenting any line keeps the same value until it is edited.
 * Lines starting with `##` are explanations.
 */

/**
 * Values `gojinn init` was given on its command line, by section and key: each is written as
 * an active line instead of the commented default. Strings and lists of strings only, written
 * as TOML basic strings (JSON string syntax is valid TOML); the parser checks them like any
 * value in the file.
 */
export type ConfigSettings = Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;

function tomlLiteral(value: string | readonly string[]): string {
  return typeof value === 'string'
    ? JSON.stringify(value)
    : `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
}

function fieldLines(field: FieldSpec, prefix: string, set?: string | readonly string[]): string[] {
  const lines = [`${prefix}## ${field.doc}`, `${prefix}## ${field.kind.type}: ${field.kind.expected}`];
  if (set !== undefined) {
    lines.push(`${prefix}${field.key} = ${tomlLiteral(set)}`);
  } else if (field.default === undefined) {
    lines.push(`${prefix}## ${field.required === true ? 'required' : 'optional'}`);
  } else {
    lines.push(`${prefix}# ${field.key} = ${field.kind.toToml(field.default)}`);
  }
  return lines;
}

export function renderConfigTemplate(settings: ConfigSettings = {}): string {
  for (const [name, fields] of Object.entries(settings)) {
    const section = CONFIG_SCHEMA.find((candidate) => candidate.name === name && !candidate.array);
    for (const key of Object.keys(fields)) {
      if (section?.fields.find((field) => field.key === key) === undefined) {
        throw new RangeError(`renderConfigTemplate: no key ${name}.${key} in the schema`);
      }
    }
  }
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
      for (const field of section.fields)
        lines.push(...fieldLines(field, '', settings[section.name]?.[field.key]));
    }
  }
  return `${lines.join('\n')}\n`;
}
