DROP TABLE login_failures;
DROP TABLE user_roles;
DROP TABLE role_permissions;
DROP TABLE roles;
DROP TABLE permissions;
DROP TABLE organizations;
DROP TABLE api_tokens;
DROP TABLE users;
