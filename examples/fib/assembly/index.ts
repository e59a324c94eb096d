// fib: naive recursive Fibonacci, the call-heavy guest (fuel and call-depth measurements).
//
//   GET /?n=25 → {"n":25,"fib":75025}
//
// `n` defaults to 20. `fib(n)` is exported too, for micro-benchmarks without WASI plumbing.
import {
  JsonWriter,
  Request,
  Response,
  badRequest,
  decimalText,
  serve,
} from '@gojinn/sdk-assemblyscript/assembly';

/** Largest `n` a request may ask for: fib(40) already makes ~330 million calls. */
const MAX_N: i32 = 40;
const DEFAULT_N: i32 = 20;

/** The n-th Fibonacci number (fib(0) = 0, fib(1) = 1), computed the slow way on purpose. */
export function fib(n: i32): i64 {
  return n < 2 ? <i64>max(n, 0) : fib(n - 1) + fib(n - 2);
}

function handle(request: Request): Response {
  let n = DEFAULT_N;
  const text = request.query('n');
  if (text !== null) {
    const parsed = I32.parseInt(text, 10);
    if (text.length == 0 || text.length > 2 || parsed < 0 || parsed > MAX_N || decimalText(parsed) != text) {
      return badRequest('n must be an integer from 0 to ' + decimalText(MAX_N));
    }
    n = parsed;
  }
  const out = new JsonWriter().beginObject();
  out.key('n').integerValue(n);
  out.key('fib').integerValue(fib(n));
  return Response.json(200, out.endObject().toString());
}

serve(handle);
