//! The invariants of contract §4 as SQL: each query returns the rows that break one. After any
//! test that races or crashes, every query must return nothing.

use super::TestDb;

/// `(what, query returning the count of offending rows as n)`.
const INVARIANTS: [(&str, &str); 5] = [
    (
        "an active device without an owner",
        "SELECT COUNT(*) AS n FROM devices d WHERE d.status = 'active' AND NOT EXISTS \
         (SELECT 1 FROM user_devices l WHERE l.device_id = d.id AND l.role = 'owner')",
    ),
    (
        "an unclaimed device with links",
        "SELECT COUNT(*) AS n FROM devices d WHERE d.status = 'unclaimed' AND EXISTS \
         (SELECT 1 FROM user_devices l WHERE l.device_id = d.id)",
    ),
    (
        "a link to a missing user or device",
        "SELECT COUNT(*) AS n FROM user_devices l WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = l.user_id) \
         OR NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = l.device_id)",
    ),
    (
        "an active device without its DEVICE_PROVISIONED row",
        "SELECT COUNT(*) AS n FROM devices d WHERE d.status = 'active' AND NOT EXISTS \
         (SELECT 1 FROM audit_logs a WHERE a.target_device_id = d.id AND a.event_type = 'DEVICE_PROVISIONED')",
    ),
    (
        "an unclaimed device with a credential",
        "SELECT COUNT(*) AS n FROM devices d WHERE d.status = 'unclaimed' AND d.credential_hash IS NOT NULL",
    ),
];

/// Panics naming every invariant the database breaks.
pub(crate) fn assert_invariants(db: &TestDb) {
    let broken: Vec<String> = INVARIANTS
        .iter()
        .filter_map(|(what, sql)| {
            let n = db.count(sql);
            (n > 0).then(|| format!("{n} × {what}"))
        })
        .collect();
    assert!(broken.is_empty(), "invariants broken: {broken:?}");
}
