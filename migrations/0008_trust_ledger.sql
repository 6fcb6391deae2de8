-- 0008: the trust ledger. Runs unchanged on PostgreSQL (>= 13) and on PGlite.
--
-- sightings.trust is the state of one key at one host (domain/trust.ts):
--   trusted : first use of a host that had no trusted key at all, an imported baseline, or an accept
--   pending : served, never trusted (a new family on a host with trusted keys, a key after a change,
--             a key joined in from another identity of the server)
--   retired : was trusted; no longer served, and an accept recorded the removal
-- Two states override it and are kept with the key, not the sighting: revoked (revoked_keys) and
-- compromised (keys.compromised). Every output that vouches for keys asks one function for the lot.
-- 'untrusted' and 'superseded' were the same states under older names.
ALTER TABLE sightings DROP CONSTRAINT sightings_trust_check;
UPDATE sightings SET trust = 'pending' WHERE trust = 'untrusted';
UPDATE sightings SET trust = 'retired' WHERE trust = 'superseded';
ALTER TABLE sightings ADD CONSTRAINT sightings_trust_check CHECK (trust IN ('trusted', 'pending', 'retired'));

-- trust_changes: who, when and why each (host, key) changed state after it was first recorded (a
-- sighting's first state is its source and first scan: trusted on first use, imported, or pending).
--   actor  : `accept by alice`, `join of [10.0.0.5]:22`, `revoke by bob`
CREATE TABLE trust_changes (
  id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host_id   integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  key_id    integer NOT NULL REFERENCES keys (id),
  trust     text NOT NULL,
  at        timestamptz NOT NULL,
  actor     text NOT NULL,
  reason    text
);
CREATE INDEX trust_changes_host ON trust_changes (host_id);

-- waivers: `hostkeys waive KIND HOST --reason … [--until DATE]`: a deliberate exception for one kind
-- of finding on one host. A finding raised under a waiver in force is recorded 'waived' and not
-- reported; once the waiver expires it is open again.
CREATE TABLE waivers (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host_id     integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  kind        text NOT NULL,
  waived_at   timestamptz NOT NULL,
  waived_by   text NOT NULL,
  reason      text NOT NULL,
  until       timestamptz
);
CREATE INDEX waivers_host ON waivers (host_id);

ALTER TABLE findings DROP CONSTRAINT findings_status_check;
ALTER TABLE findings ADD CONSTRAINT findings_status_check CHECK (status IN ('open', 'accepted', 'waived', 'resolved'));

-- revoked_keys.reason: why (`hostkeys revoke --reason`); imported lines have none.
ALTER TABLE revoked_keys ADD COLUMN reason text;
