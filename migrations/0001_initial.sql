-- 0001: the inventory's history. Never edit once landed; add 0002_... instead.
-- Runs unchanged on PostgreSQL (>= 13) and on PGlite.
--
-- Growth: a nightly scan of a fleet whose keys did not change inserts one `scans` row and one
-- `scan_failures` row per host that did not answer; it updates `hosts` and `sightings` in place.

-- hosts: one row per identity (the inventory's NAME), with the latest state of the last scan that asked.
CREATE TABLE hosts (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  first_seen    timestamptz NOT NULL,
  last_scan_id  integer,
  last_status   text,
  last_error    text,
  last_reached  timestamptz,
  last_address  text,
  last_port     integer,
  last_banner   text
);

-- host_names: further names and addresses a host answered on or is known by; lookup by any of them.
CREATE TABLE host_names (
  host_id     integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  name        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('alias', 'address')),
  first_seen  timestamptz NOT NULL,
  PRIMARY KEY (name, host_id)
);
CREATE INDEX host_names_host ON host_names (host_id);

-- keys: each distinct public key once, by the SHA-256 of its blob.
CREATE TABLE keys (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sha256      bytea NOT NULL UNIQUE,
  md5         bytea NOT NULL,
  type        text NOT NULL,
  bits        integer NOT NULL,
  blob        bytea NOT NULL,
  first_seen  timestamptz NOT NULL
);
CREATE INDEX keys_md5 ON keys (md5);

-- sightings: a key at a host over time. Updated in place while nothing changes.
--   trust   : trusted (first use, import, accept) | untrusted (served after a change, not accepted)
--             | superseded (an accept trusted the host's newer key instead)
--   current : the host served it at the last scan that reached it and asked for its family
-- last_scan_id is not a foreign key: prune drops old scans, never sightings.
CREATE TABLE sightings (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host_id       integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  key_id        integer NOT NULL REFERENCES keys (id),
  family        text NOT NULL,
  trust         text NOT NULL CHECK (trust IN ('trusted', 'untrusted', 'superseded')),
  current       boolean NOT NULL,
  source        text NOT NULL CHECK (source IN ('scan', 'import')),
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz,
  first_scan_id integer,
  last_scan_id  integer,
  address       text,
  port          integer,
  UNIQUE (host_id, key_id)
);
CREATE INDEX sightings_key ON sightings (key_id);
CREATE INDEX sightings_last_scan ON sightings (last_scan_id);

-- scans: when, from where, what was asked, what was reached.
CREATE TABLE scans (
  id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at     timestamptz NOT NULL,
  finished_at    timestamptz NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  vantage        text NOT NULL,
  request        jsonb NOT NULL,
  hosts_asked    integer NOT NULL,
  hosts_reached  integer NOT NULL,
  keys_seen      integer NOT NULL,
  findings       integer NOT NULL
);

-- scan_failures: per-scan status of the hosts that did not answer; a host of the scan absent here
-- answered. Prunable detail: prune drops it with its scan.
CREATE TABLE scan_failures (
  scan_id  integer NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
  host_id  integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  status   text NOT NULL,
  error    text,
  address  text,
  PRIMARY KEY (scan_id, host_id)
);
CREATE INDEX scan_failures_host ON scan_failures (host_id);

-- findings: one row per condition while it lasts (identity = kind|host|fingerprint), with its lifecycle.
CREATE TABLE findings (
  id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  identity       text NOT NULL,
  kind           text NOT NULL,
  severity       text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  host_id        integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  hosts          text[] NOT NULL,
  key_type       text,
  fingerprint    text,
  previous       text,
  message        text NOT NULL,
  status         text NOT NULL CHECK (status IN ('open', 'accepted', 'resolved')),
  first_scan_id  integer,
  last_scan_id   integer,
  first_seen     timestamptz NOT NULL,
  last_seen      timestamptz NOT NULL,
  resolved_at    timestamptz,
  accepted_at    timestamptz,
  accepted_by    text,
  accept_reason  text
);
CREATE UNIQUE INDEX findings_live_identity ON findings (identity) WHERE status <> 'resolved';
CREATE INDEX findings_host ON findings (host_id);
CREATE INDEX findings_last_seen ON findings (last_seen);

-- acceptances: who trusted which keys of a host, when and why (`hostkeys accept`).
CREATE TABLE acceptances (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host_id       integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  accepted_at   timestamptz NOT NULL,
  accepted_by   text NOT NULL,
  reason        text,
  fingerprints  text[] NOT NULL
);
CREATE INDEX acceptances_host ON acceptances (host_id);

-- share groups: hosts that legitimately serve the same keys (`hostkeys allow-shared`). By name, so a
-- group may name hosts not scanned yet.
CREATE TABLE share_groups (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at  timestamptz NOT NULL,
  created_by  text NOT NULL
);
CREATE TABLE share_group_members (
  group_id   integer NOT NULL REFERENCES share_groups (id) ON DELETE CASCADE,
  host_name  text NOT NULL,
  PRIMARY KEY (group_id, host_name)
);

-- imported_hashed: hashed known_hosts entries (|1|salt|hmac) waiting for a scan to name their host.
CREATE TABLE imported_hashed (
  id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  salt         bytea NOT NULL,
  hmac         bytea NOT NULL,
  key_id       integer NOT NULL REFERENCES keys (id),
  imported_at  timestamptz NOT NULL,
  source       text NOT NULL
);
