// HTTP header fields as the request JSON carries them (an object of name → value), in order.
// Names compare case-insensitively in ASCII, as HTTP field names do.

function asciiLower(unit: u32): u32 {
  return unit - 0x41 < 26 ? unit | 0x20 : unit;
}

/** True when `a` and `b` are equal ignoring ASCII case. */
export function equalsIgnoreAsciiCase(a: string, b: string): bool {
  const length = a.length;
  if (length != b.length) return false;
  const pa = changetype<usize>(a);
  const pb = changetype<usize>(b);
  for (let i = 0; i < length; i++) {
    const offset = (<usize>i) << 1;
    if (asciiLower(<u32>load<u16>(pa + offset)) != asciiLower(<u32>load<u16>(pb + offset))) return false;
  }
  return true;
}

export class Headers {
  names: string[] = [];
  values: string[] = [];

  get length(): i32 {
    return this.names.length;
  }

  private indexOf(name: string): i32 {
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      if (equalsIgnoreAsciiCase(unchecked(names[i]), name)) return i;
    }
    return -1;
  }

  /** The value of `name`, or null when absent. */
  get(name: string): string | null {
    const index = this.indexOf(name);
    return index < 0 ? null : unchecked(this.values[index]);
  }

  has(name: string): bool {
    return this.indexOf(name) >= 0;
  }

  /** Sets `name` to `value`, replacing an existing field of that name (a JSON object has one). */
  set(name: string, value: string): Headers {
    const index = this.indexOf(name);
    if (index < 0) {
      this.names.push(name);
      this.values.push(value);
    } else {
      unchecked((this.names[index] = name));
      unchecked((this.values[index] = value));
    }
    return this;
  }
}
