/**
 * Untrusted text inside error messages. Messages reach terminals and logs, so a name taken
 * from a manifest or a module's import section is shown quoted, cut to `maxLength`
 * characters, with every character outside printable ASCII escaped (`\u{1b}`): no terminal
 * escape sequences, bidi overrides or megabyte-long messages.
 */
export function quote(text: string, maxLength = 64): string {
  return `"${printable(text, maxLength)}"`;
}

/** `text` cut to `maxLength` characters with non-printable-ASCII, `"` and `\` escaped. */
export function printable(text: string, maxLength = 64): string {
  const cut = text.length > maxLength ? `${text.slice(0, maxLength)}...` : text;
  return cut.replace(/[^\x20-\x7e]|["\\]/gu, (c) =>
    c === '"' || c === '\\' ? `\\${c}` : `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`,
  );
}

/** A JSON value of unknown type, shown briefly: strings quoted, anything else as bounded JSON text. */
export function describeValue(value: unknown): string {
  return typeof value === 'string' ? quote(value) : printable(JSON.stringify(value) ?? String(value));
}
