-- device_core (contract §2): hardware blueprints, devices and their credentials.
CREATE TABLE hardware_blueprints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at TIMESTAMP NOT NULL
);

-- organization_id: NULL for personal devices (kept on reset). credential_hash: SHA-256 of the
-- device secret, NULL while unclaimed. claimed_at: when the current owner claimed it.
CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cpu_serial TEXT NOT NULL UNIQUE,
    current_uuid TEXT NOT NULL UNIQUE,
    hardware_blueprint_id BIGINT NOT NULL REFERENCES hardware_blueprints (id),
    organization_id BIGINT,
    name TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'unclaimed')),
    credential_hash TEXT,
    claim_code_hash TEXT,
    claimed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX devices_organization ON devices (organization_id, id);
CREATE INDEX devices_blueprint ON devices (hardware_blueprint_id, id);

-- device_access: one link per (user, device). A user with links cannot be deleted until the
-- orchestrator has removed them (and reset the devices left without an owner).
CREATE TABLE user_devices (
    user_id BIGINT NOT NULL REFERENCES users (id),
    device_id BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'viewer')),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE INDEX user_devices_device ON user_devices (device_id, role);
