// notes: a small notes API on the module's own SQLite database (capability db.query).
//
//   POST / with body {"body": "buy milk"}  → 201 {"id": 1}
//   GET  /                                 → 200 {"notes": [{"id": 1, "body": "buy milk"}, ...]}
//                                            (newest first, at most 100)
//
// Each request creates the table if needed in the same call (one transaction) as its own
// statement, so a fresh node needs no migration step. Sign it with `--cap db.query`.
import {
  JsonReader,
  JsonWriter,
  Request,
  Response,
  badRequest,
  serve,
} from '@gojinn/sdk-assemblyscript/assembly';
import {
  DB_QUOTA,
  DB_TIMEOUT,
  DbResult,
  Statement,
  dbQuery,
} from '@gojinn/sdk-assemblyscript/assembly/host/db';

const SCHEMA = 'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)';
/** Longest note accepted, in UTF-16 code units. */
const MAX_NOTE_LENGTH: i32 = 4096;
/** Notes one GET returns. */
const LIST_LIMIT: i64 = 100;

// The response for a failed call: the guest says what went wrong, never more than the host did.
function dbFailure(result: DbResult): Response {
  const out = new JsonWriter().beginObject();
  let status = 500;
  if (result.error !== null) {
    out.key('error').stringValue(result.error!);
  } else {
    if (result.errno == DB_TIMEOUT) status = 504;
    else if (result.errno == DB_QUOTA) status = 507;
    out.key('error').stringValue('db.query failed').key('errno').integerValue(result.errno);
  }
  return Response.json(status, out.endObject().toString());
}

function create(request: Request): Response {
  const body = JsonReader.ofString(request.body).stringMember('body');
  if (body === null || body.length == 0) return badRequest('expected {"body": "<text>"}');
  if (body.length > MAX_NOTE_LENGTH) return badRequest('note is too long');
  const result = dbQuery([
    new Statement(SCHEMA),
    new Statement('INSERT INTO notes (body) VALUES (?) RETURNING id').text(body),
  ]);
  if (!result.ok) return dbFailure(result);
  // RETURNING gives one row: [id].
  const row = JsonReader.ofBuffer(unchecked(result.results[1].rows[0]));
  row.beginArray();
  row.nextItem();
  const id = <i64>row.readNumber();
  return Response.json(201, new JsonWriter().beginObject().key('id').integerValue(id).endObject().toString());
}

function list(): Response {
  const result = dbQuery([
    new Statement(SCHEMA),
    new Statement('SELECT id, body FROM notes ORDER BY id DESC LIMIT ?').int(LIST_LIMIT),
  ]);
  if (!result.ok) return dbFailure(result);
  const out = new JsonWriter().beginObject().key('notes').beginArray();
  const rows = result.results[1].rows;
  for (let i = 0; i < rows.length; i++) {
    const row = JsonReader.ofBuffer(unchecked(rows[i]));
    row.beginArray();
    row.nextItem();
    const id = <i64>row.readNumber();
    row.nextItem();
    const body = row.readString();
    out.beginObject().key('id').integerValue(id).key('body').nullableString(body).endObject();
  }
  return Response.json(200, out.endArray().endObject().toString());
}

function notes(request: Request): Response {
  if (request.method == 'POST') return create(request);
  if (request.method == 'GET') return list();
  return Response.json(405, '{"error":"use GET or POST"}').withHeader('allow', 'GET, POST');
}

serve(notes);
