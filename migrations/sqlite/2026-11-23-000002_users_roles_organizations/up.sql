-- user_authorization (contract §2, §3): users, API tokens, organizations, roles, permissions.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE, -- lower-case username: unique ignoring case
    email TEXT,
    password_hash TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE, -- SHA-256 of the token, hex
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('global', 'organization'))
);

CREATE TABLE role_permissions (
    role_id BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);

-- organization_id NULL: a global grant. One grant of a global role per user; exactly one
-- role per user in an organization (membership).
CREATE TABLE user_roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles (id),
    organization_id BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX user_roles_global ON user_roles (user_id, role_id) WHERE organization_id IS NULL;
CREATE UNIQUE INDEX user_roles_membership ON user_roles (user_id, organization_id) WHERE organization_id IS NOT NULL;
CREATE INDEX user_roles_organization ON user_roles (organization_id, user_id);

-- Failed logins, for throttling across every server process (15-minute windows).
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username_key TEXT NOT NULL,
    peer TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username_key, occurred_at);
CREATE INDEX login_failures_peer ON login_failures (peer, occurred_at);
CREATE INDEX login_failures_age ON login_failures (occurred_at);

INSERT INTO permissions (name) VALUES
    ('device:register'), ('device:provision'), ('device:read'), ('device:update'),
    ('device:delete'), ('device:read_all'), ('device:update_all'), ('device:delete_all'),
    ('audit:read'), ('blueprint:manage'), ('user:manage'), ('org:manage');

INSERT INTO roles (name, scope) VALUES
    ('admin', 'global'), ('auditor', 'global'), ('member', 'global'),
    ('org_admin', 'organization'), ('org_operator', 'organization'), ('org_viewer', 'organization');

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r, permissions p
WHERE (r.name = 'admin')
   OR (r.name = 'auditor' AND p.name IN ('device:read_all', 'audit:read'))
   OR (r.name = 'member' AND p.name = 'device:provision')
   OR (r.name = 'org_admin' AND p.name IN ('device:provision', 'device:read', 'device:update',
                                            'device:delete', 'audit:read', 'org:manage'))
   OR (r.name = 'org_operator' AND p.name IN ('device:provision', 'device:read', 'device:update'))
   OR (r.name = 'org_viewer' AND p.name = 'device:read');
