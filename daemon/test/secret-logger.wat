;; Fixture: secret-logger (daemon/test/node-log-leak.test.ts; kept out of test/fixtures/wat, whose fixtures all run without grants)
;; Attacks: secret exfiltration through the logs: reads secret API_TOKEN with gojinn.secret_get, then writes the value to the node log with gojinn.log at every level (bare and after a prefix) and to stderr
;; Expect: capability_denied
;; Features: none
;; Note: without secrets.read granted it does not link. Granted secrets.read {names: ["API_TOKEN"]} with the secret set, it logs the value at levels 0-3, once more at level 3 as "leaked: <value>", writes it to stderr (fd 2) and responds {"status":200,"body":"ok"}; when secret_get fails it responds {"status":404,"body":"no"}.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "gojinn" "secret_get" (func $secret_get (param i32 i32 i32 i32) (result i32)))
  (import "gojinn" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"status\":200,\"body\":\"ok\"}")
  (data (i32.const 1056) "{\"status\":404,\"body\":\"no\"}")
  (data (i32.const 1088) "API_TOKEN")
  ;; The value lands at 4104, right after this prefix, so prefix + value is one message at 4096.
  (data (i32.const 4096) "leaked: ")
  ;; Writes len bytes at ptr to fd (iovec at 0, bytes written at 8).
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (local $n i32) (local $level i32)
    (local.set $n (call $secret_get (i32.const 1088) (i32.const 9) (i32.const 4104) (i32.const 4096)))
    (if (i32.le_s (local.get $n) (i32.const 0))
      (then
        (call $write (i32.const 1) (i32.const 1056) (i32.const 26))
        (return)))
    ;; The bare value at debug, info, warn and error.
    (loop $each
      (drop (call $log (local.get $level) (i32.const 4104) (local.get $n)))
      (local.set $level (i32.add (local.get $level) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $level) (i32.const 4))))
    (drop (call $log (i32.const 3) (i32.const 4096) (i32.add (local.get $n) (i32.const 8))))
    (call $write (i32.const 2) (i32.const 4104) (local.get $n))
    (call $write (i32.const 1) (i32.const 1024) (i32.const 26))))
