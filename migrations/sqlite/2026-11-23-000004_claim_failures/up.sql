-- device_core (contract §5.1): wrong claim codes per device, for the 5-per-15-minutes limit.
-- Written while the claim holds the device's row lock, so the count is exact across processes.
CREATE TABLE claim_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX claim_failures_device ON claim_failures (device_id, occurred_at);
