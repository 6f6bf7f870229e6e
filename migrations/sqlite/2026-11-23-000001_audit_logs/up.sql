-- The audit log (contract §2): append-only. Ids of actors, devices and organizations are kept
-- as plain values, so deleting a user or a device never touches its history.
CREATE TABLE audit_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TIMESTAMP NOT NULL,
    event_type TEXT NOT NULL,
    description TEXT NOT NULL,
    actor_user_id BIGINT,
    target_device_id BIGINT,
    organization_id BIGINT,
    details TEXT NOT NULL DEFAULT '{}',
    request_id TEXT
);

CREATE INDEX audit_logs_newest ON audit_logs (occurred_at DESC, id DESC);
CREATE INDEX audit_logs_actor ON audit_logs (actor_user_id, occurred_at DESC, id DESC);
CREATE INDEX audit_logs_device ON audit_logs (target_device_id, occurred_at DESC, id DESC);
CREATE INDEX audit_logs_organization ON audit_logs (organization_id, occurred_at DESC, id DESC);

CREATE TRIGGER audit_logs_refuse_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_logs_refuse_delete BEFORE DELETE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
