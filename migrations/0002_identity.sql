-- 0002: one identity per server, revoked keys and certificate authorities from known_hosts, and the
-- count of consecutive failed scans. Runs unchanged on PostgreSQL (>= 13) and on PGlite.

-- hosts.port: the port of the identity (`[name]:port` names it; bare names are port 22), so a host
-- can be found by any of its names or addresses on that port. Backfilled from the identity.
ALTER TABLE hosts ADD COLUMN port integer;
UPDATE hosts SET port = CASE WHEN name ~ '^\[.+\]:[0-9]{1,5}$' THEN substring(name FROM ':([0-9]{1,5})$')::integer ELSE 22 END;
ALTER TABLE hosts ALTER COLUMN port SET NOT NULL;
-- No index on port or last_address: resolution finds hosts by name (hosts_name_key, host_names' key)
-- and filters on them; every index on hosts costs each of a nightly scan's 100,000 updates.

-- hosts.failed_scans: consecutive scans that asked for the host and did not reach it (0 once one does).
ALTER TABLE hosts ADD COLUMN failed_scans integer NOT NULL DEFAULT 0;

-- revoked_keys: keys named by `@revoked` lines of an imported known_hosts. A host serving one raises
-- revoked_key at every scan until the key is gone.
CREATE TABLE revoked_keys (
  key_id       integer PRIMARY KEY REFERENCES keys (id),
  imported_at  timestamptz NOT NULL,
  source       text NOT NULL
);

-- cert_authorities: `@cert-authority PATTERNS KEY` lines, kept for host certificate checks.
CREATE TABLE cert_authorities (
  id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_id       integer NOT NULL REFERENCES keys (id),
  patterns     text[] NOT NULL,
  imported_at  timestamptz NOT NULL,
  source       text NOT NULL,
  UNIQUE (key_id, patterns)
);
