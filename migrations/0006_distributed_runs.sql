-- Distributed scans (`scan --distribute`, `hostkeys worker`). The queue itself is pg-boss's (schema
-- pgboss, made by pg-boss on first use); these tables hold what hostkeys needs of a run.
--
-- run   : one distributed scan of an inventory: its targets split into shards, each shard scanned by a
--         worker (once per vantage asked), judged once when the last part is in, into one scans row.
-- shard : a run's targets N*size .. (N+1)*size-1, in inventory order.
-- part  : one shard as one vantage scans it; '' when the run asked for no vantage (any worker).

-- runs: status queued (enqueued, no part taken) | scanning | judging (every part in; one process
-- records it) | done (scan_id set) | failed (error set) | cancelled. What stays of a finished run.
CREATE TABLE runs (
  id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status         text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'scanning', 'judging', 'done', 'failed', 'cancelled')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  scanned_at     timestamptz,
  finished_at    timestamptz,
  -- What was asked, as scans.request keeps it, plus the judging options.
  request        jsonb NOT NULL,
  -- Vantages asked for, the first one judged; empty: any worker, judged as scanned.
  vantages       text[] NOT NULL,
  targets        integer NOT NULL,
  shards         integer NOT NULL,
  parts          integer NOT NULL,
  parts_done     integer NOT NULL DEFAULT 0,
  parts_failed   integer NOT NULL DEFAULT 0,
  -- Observations staged so far, over every vantage, and how many of them reached their host.
  hosts_scanned  integer NOT NULL DEFAULT 0,
  hosts_reached  integer NOT NULL DEFAULT 0,
  scan_id        integer REFERENCES scans (id) ON DELETE SET NULL,
  -- The judged outcome (counts and findings), as the waiting `scan --distribute` prints it.
  report         jsonb,
  -- Judging attempts that threw; a judge that died is not counted (its lock went with its connection).
  judge_attempts integer NOT NULL DEFAULT 0,
  error          text
);
CREATE INDEX runs_active ON runs (status) WHERE status IN ('queued', 'scanning', 'judging');

-- run_shards: each shard's targets, until the run is judged.
CREATE TABLE run_shards (
  run_id   integer NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  shard    integer NOT NULL,
  targets  jsonb NOT NULL,
  PRIMARY KEY (run_id, shard)
);

-- run_parts: one row per shard and vantage asked. A part is done once, in the transaction that stages
-- its observations (a part scanned twice, by a worker thought dead, is stored once); observations are
-- deleted when the run is judged.
CREATE TABLE run_parts (
  run_id        integer NOT NULL,
  shard         integer NOT NULL,
  vantage       text NOT NULL,
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'failed')),
  attempts      integer NOT NULL DEFAULT 0,
  worker        text,
  -- The vantage of the worker that scanned it (the asked one, or the worker's own for '').
  scanned_by    text,
  hosts         integer,
  reached       integer,
  observations  bytea,
  error         text,
  PRIMARY KEY (run_id, shard, vantage),
  FOREIGN KEY (run_id, shard) REFERENCES run_shards (run_id, shard) ON DELETE CASCADE
);
