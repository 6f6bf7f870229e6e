diesel::table! {
    audit_logs (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        event_type -> Text,
        description -> Text,
        actor_user_id -> Nullable<BigInt>,
        target_device_id -> Nullable<BigInt>,
        organization_id -> Nullable<BigInt>,
        details -> Text,
        request_id -> Nullable<Text>,
    }
}
