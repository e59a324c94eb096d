// The raw `gojinn` host functions (@gojinn/abi HOST_FUNCTIONS; docs/guest-abi.md). AssemblyScript
// imports a `declare function` from the module named after the file declaring it, so this file
// must stay called gojinn.ts (the alternative, an @external decorator, is not valid TypeScript
// syntax for the formatter) and every host function is declared here. Guests call the typed
// wrappers beside this file (kv.ts, log.ts, debug.ts, db.ts, http.ts, secrets.ts, call.ts).
//
// Only functions a guest's code reaches end up imported: a guest that never logs imports
// nothing from `gojinn`, and one that only reads kv needs only kv.read granted.
//
// Every capability call has one shape: fn(req_ptr, req_len, out_ptr, out_cap) → i32, the number
// of response bytes written at out_ptr, or a negated HOST_ERRNO value (-3 TOO_SMALL: the
// response is held for result_take).

/** log(level, ptr, len) → 0: one structured line in the node's log (rate- and size-limited). Always linked. */
export declare function log(level: i32, ptr: usize, length: usize): i32;
/** result_take(out_ptr, out_cap) → size of the held response; written iff size ≤ out_cap. Always linked. */
export declare function result_take(outPtr: usize, outCap: usize): i32;

// kv.read
export declare function kv_get(reqPtr: usize, reqLen: usize, outPtr: usize, outCap: usize): i32;
export declare function kv_list(reqPtr: usize, reqLen: usize, outPtr: usize, outCap: usize): i32;
// kv.write
export declare function kv_set(reqPtr: usize, reqLen: usize, outPtr: usize, outCap: usize): i32;
export declare function kv_delete(reqPtr: usize, reqLen: usize, outPtr: usize, outCap: usize): i32;
// db.query
export declare function db_query(reqPtr: usize, reqLen: usize, outPtr: usize, outCap: usize): i32;
// net.http
export declare function http_request(reqPtr: usize, reqLen: usize, outPtr: usize, outCap: usize): i32;
// secrets.read
export declare function secret_get(reqPtr: usize, reqLen: usize, outPtr: usize, outCap: usize): i32;
// debug.enable
export declare function debug_event(reqPtr: usize, reqLen: usize, outPtr: usize, outCap: usize): i32;
