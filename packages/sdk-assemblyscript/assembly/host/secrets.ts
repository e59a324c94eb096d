// Reading the module's secrets through `gojinn.secret_get` (capability secrets.read;
// docs/capabilities-db-secrets.md). The operator sets them with `gojinn secrets set`; a module
// can read only the names its manifest declares and the node grants, and cannot write any.
//
//   const secret = secretGet('API_TOKEN');
//   if (secret.ok) { const value = secret.value!; ... } // never log it or put it in a response
//   else if (secret.errno == SECRET_NOT_FOUND) { ... not set on this node ... }
//
// Wire format: the request is the name's UTF-8 bytes; the response is the value's bytes.
import * as gojinn from './gojinn';

// Host error numbers a call can fail with (HOST_ERRNO in @gojinn/abi; result.errno holds one).
/** The name is not among the module's granted secrets.read names. Logged by the node. */
export const SECRET_DENIED: i32 = 1;
/** The name is granted, but no secret of that name is set on this node. */
export const SECRET_NOT_FOUND: i32 = 2;
/** The response did not fit the out buffer (handled inside secretGet: never returned). */
const HOST_TOO_SMALL: i32 = 3;
/** The name is not a valid secret name (a letter or _, then letters, digits, _ . -; ≤ 128). */
export const SECRET_INVALID: i32 = 4;
/** The node could not read the secret (its master key is missing or wrong); it logged why. */
export const SECRET_UNAVAILABLE: i32 = 9;

/** First guess at a value's size; a larger value is fetched with result_take. */
const FIRST_VALUE_CAPACITY: usize = 1024;

export class SecretResult {
  /** 0 when `value` is set; otherwise SECRET_DENIED, SECRET_NOT_FOUND, ... */
  errno: i32 = 0;
  value: ArrayBuffer | null = null;

  get ok(): bool {
    return this.errno == 0;
  }

  static failed(errno: i32): SecretResult {
    const result = new SecretResult();
    result.errno = errno;
    return result;
  }
}

/** The value of the module's secret `name`. */
export function secretGet(name: string): SecretResult {
  const encoded = String.UTF8.encode(name);
  let capacity = FIRST_VALUE_CAPACITY;
  let out = heap.alloc(capacity);
  let n = gojinn.secret_get(changetype<usize>(encoded), <usize>encoded.byteLength, out, capacity);
  if (n == -HOST_TOO_SMALL) {
    const size = gojinn.result_take(0, 0);
    heap.free(out);
    if (size < 0) return SecretResult.failed(-size);
    capacity = <usize>size;
    out = heap.alloc(max<usize>(capacity, 1));
    n = gojinn.result_take(out, capacity);
  }
  if (n < 0) {
    heap.free(out);
    return SecretResult.failed(-n);
  }
  const value = new ArrayBuffer(n);
  memory.copy(changetype<usize>(value), out, <usize>n);
  // Scrub the scratch copy: only `value` should hold the secret from here on.
  memory.fill(out, 0, <usize>n);
  heap.free(out);
  const result = new SecretResult();
  result.value = value;
  return result;
}
