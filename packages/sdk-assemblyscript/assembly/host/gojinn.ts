// The raw `gojinn` host functions (@gojinn/abi HOST_FUNCTIONS; docs/guest-abi.md). AssemblyScript
// imports a `declare function` from the module named after the file declaring it, so this file
// must stay called gojinn.ts (the alternative, an @external decorator, is not valid TypeScript
// syntax for the formatter). Guests call the typed wrappers beside this file instead.
//
// Only functions a wrapper uses end up imported: a guest that never logs imports nothing from
// `gojinn`. Wrappers for kv_*, db_query, http_request and secret_get belong here too, one file
// per capability, each importing its declarations from this file.

/** gojinn.log(level, ptr, len) → 0: appends one line to the invocation's stderr. Always linked. */
export declare function log(level: i32, ptr: usize, length: usize): i32;
