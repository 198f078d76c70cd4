-- +goose Up
-- Users log in by username, matched case-insensitively; the password is an
-- argon2id PHC string (internal/password).
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text        NOT NULL,
    password_hash text        NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_length CHECK (char_length(username) BETWEEN 1 AND 128),
    CONSTRAINT users_password_hash_argon2id CHECK (password_hash LIKE '$argon2id$%')
);
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

-- A role's permissions are a JSON array of strings, e.g. ["users:read"].
CREATE TABLE roles (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    permissions jsonb       NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roles_name_length CHECK (char_length(name) BETWEEN 1 AND 64),
    CONSTRAINT roles_permissions_array CHECK (jsonb_typeof(permissions) = 'array')
);

CREATE TABLE user_roles (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    bigint      NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_id ON user_roles (role_id);

-- Operator-tunable settings, read at start. Values are JSON.
CREATE TABLE settings (
    key        text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings (key, value) VALUES
    ('login_max_failures_per_account', '5'),
    ('login_max_failures_per_source', '100'),
    ('login_lockout_seconds', '900');

-- +goose Down
DROP TABLE settings;
DROP TABLE user_roles;
DROP TABLE roles;
DROP TABLE users;
