-- Jobs held by leases (issue 8): an import, an apply of a stored preview or a revert is held by
-- a holder (an opaque instance id: host, pid, process start time and a random part) whose lease
-- runs until `lease_until` (unix milliseconds) and is renewed by a heartbeat (`heartbeat_at`).
-- A running job whose lease expired is dead wherever it ran, and the next command records it
-- failed. `owner` stays for rows written by earlier releases and holds the same text as `holder`.
-- Existing rows take their owner as holder and a lease that ended when they started, so a record
-- left `running` by an earlier release is failed by the first command after the upgrade.

ALTER TABLE imports ADD COLUMN holder TEXT NOT NULL DEFAULT '';
ALTER TABLE imports ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN heartbeat_at BIGINT NOT NULL DEFAULT 0;
UPDATE imports SET holder = owner, lease_until = started_at, heartbeat_at = started_at;
