/**
 * Malformed and oversized wasm bytes for tests, encoded by hand (no wabt), so every byte is
 * under the test's control: truncated modules, bad magic/version, unknown section ids,
 * trailing garbage, and valid modules of an exact size.
 */

export const WASM_MAGIC: readonly number[] = [0x00, 0x61, 0x73, 0x6d];
export const WASM_VERSION: readonly number[] = [0x01, 0x00, 0x00, 0x00];
export const WASM_HEADER_BYTES = 8;

const SECTION_CUSTOM = 0;
const SECTION_TYPE = 1;
const SECTION_FUNCTION = 3;
const SECTION_MEMORY = 5;
const SECTION_EXPORT = 7;
const SECTION_CODE = 10;
const SECTION_DATA = 11;
const WASM_PAGE_BYTES = 65536;

/** Unsigned LEB128, as wasm encodes sizes, counts and indices. */
export function encodeUleb128(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as ULEB128`);
  const bytes: number[] = [];
  let rest = value;
  do {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    bytes.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  return bytes;
}

function name(text: string): number[] {
  const utf8 = [...new TextEncoder().encode(text)];
  return [...encodeUleb128(utf8.length), ...utf8];
}

/** A section: id, payload size, payload. */
export function section(id: number, payload: ArrayLike<number>): Uint8Array {
  return concat([id], encodeUleb128(payload.length), payload);
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * A custom section (empty name, `fill` bytes) whose encoding is exactly `totalBytes` long, or
 * undefined when no custom section has that size: where the size field grows by a byte
 * (e.g. 130 bytes), one length is skipped.
 */
function customSectionOfSize(totalBytes: number, fill: number): Uint8Array | undefined {
  for (let sizeFieldBytes = 1; sizeFieldBytes <= 5; sizeFieldBytes++) {
    const contentBytes = totalBytes - 1 - sizeFieldBytes;
    if (contentBytes < 1 || encodeUleb128(contentBytes).length !== sizeFieldBytes) continue;
    return section(SECTION_CUSTOM, concat(name(''), new Uint8Array(contentBytes - 1).fill(fill)));
  }
  return undefined;
}

/** Custom sections totalling exactly `totalBytes` (at least 3: the smallest custom section). */
function paddingSections(totalBytes: number): Uint8Array {
  if (totalBytes === 0) return new Uint8Array(0);
  const single = customSectionOfSize(totalBytes, 0x2a);
  if (single) return single;
  const smallest = customSectionOfSize(3, 0x2a);
  const rest = customSectionOfSize(totalBytes - 3, 0x2a);
  if (!smallest || !rest) throw new RangeError(`cannot pad a module by exactly ${totalBytes} bytes`);
  return concat(smallest, rest);
}

function commandSections(memoryPages: number): Uint8Array[] {
  return [
    section(SECTION_TYPE, [0x01, 0x60, 0x00, 0x00]), // one type: () -> ()
    section(SECTION_FUNCTION, [0x01, 0x00]), // one function of type 0
    section(SECTION_MEMORY, [0x01, 0x00, ...encodeUleb128(memoryPages)]), // one memory, no maximum
    section(SECTION_EXPORT, [0x02, ...name('memory'), 0x02, 0x00, ...name('_start'), 0x00, 0x00]),
    section(SECTION_CODE, [0x01, 0x02, 0x00, 0x0b]), // empty body
  ];
}

/** The smallest valid WASI command: one exported page of memory and an empty `_start`. */
export function minimalCommand(): Uint8Array {
  return concat(WASM_MAGIC, WASM_VERSION, ...commandSections(1));
}

/**
 * A valid WASI command of exactly `totalBytes` bytes, made big by one active data segment
 * (`via: 'data'`, the memory grows to hold it) or by custom sections (`via: 'custom'`, which
 * engines skip). For limits such as maxModuleBytes: at the limit and one byte over.
 */
export function moduleOfSize(totalBytes: number, via: 'custom' | 'data' = 'custom'): Uint8Array {
  const minimal = minimalCommand();
  if (via === 'custom') {
    if (totalBytes < minimal.length) {
      throw new RangeError(`a module of ${totalBytes} bytes is too small (minimum ${minimal.length})`);
    }
    if (totalBytes < minimal.length + 3 && totalBytes !== minimal.length) {
      throw new RangeError(
        `cannot add ${totalBytes - minimal.length} bytes: a custom section takes at least 3`,
      );
    }
    return concat(minimal, paddingSections(totalBytes - minimal.length));
  }
  // One active data segment for memory 0 at offset (i32.const 0); the memory is made big
  // enough to hold it. Sizes are computed first so the big buffer is built only once.
  const segmentHeader = (dataBytes: number): number[] => [
    0x01,
    0x00,
    0x41,
    0x00,
    0x0b,
    ...encodeUleb128(dataBytes),
  ];
  const pagesFor = (dataBytes: number): number => Math.max(1, Math.ceil(dataBytes / WASM_PAGE_BYTES));
  const sizeOf = (dataBytes: number): number => {
    const content = segmentHeader(dataBytes).length + dataBytes;
    const sections = commandSections(pagesFor(dataBytes)).reduce((sum, part) => sum + part.length, 0);
    return WASM_HEADER_BYTES + sections + 1 + encodeUleb128(content).length + content;
  };
  if (totalBytes < sizeOf(0)) {
    throw new RangeError(
      `a module of ${totalBytes} bytes is too small for a data segment (minimum ${sizeOf(0)})`,
    );
  }
  // The largest segment that leaves either nothing or room for padding sections (>= 3 bytes).
  let dataBytes = totalBytes - sizeOf(0);
  while (dataBytes > 0 && sizeOf(dataBytes) !== totalBytes && sizeOf(dataBytes) > totalBytes - 3) dataBytes--;
  const data = new Uint8Array(dataBytes).fill(0x64);
  const module = concat(
    WASM_MAGIC,
    WASM_VERSION,
    ...commandSections(pagesFor(dataBytes)),
    section(SECTION_DATA, concat(segmentHeader(dataBytes), data)),
  );
  return concat(module, paddingSections(totalBytes - module.length));
}

/** The first `length` bytes of `bytes` (default: all but the last byte). */
export function truncatedModule(bytes: Uint8Array, length = bytes.length - 1): Uint8Array {
  if (length < 0 || length >= bytes.length)
    throw new RangeError(`cannot truncate ${bytes.length} bytes to ${length}`);
  return bytes.slice(0, length);
}

/** A copy of `bytes` whose magic number reads "\0asn" instead of "\0asm". */
export function withBadMagic(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy[3] = 0x6e;
  return copy;
}

/** A copy of `bytes` claiming binary format version 2. */
export function withBadVersion(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy[4] = 0x02;
  return copy;
}

/** A copy of `bytes` whose first section has id `id` (default 0x7f, which no wasm version defines). */
export function withBadSectionId(bytes: Uint8Array, id = 0x7f): Uint8Array {
  if (bytes.length <= WASM_HEADER_BYTES) throw new RangeError('module has no section to corrupt');
  const copy = bytes.slice();
  copy[WASM_HEADER_BYTES] = id;
  return copy;
}

/** `bytes` followed by a section header whose size runs past the end of the input. */
export function withTrailingGarbage(bytes: Uint8Array): Uint8Array {
  return concat(bytes, [SECTION_CUSTOM, 0x10, 0x01]);
}
