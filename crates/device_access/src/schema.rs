diesel::table! {
    user_devices (user_id, device_id) {
        user_id -> BigInt,
        device_id -> BigInt,
        role -> Text,
        created_at -> Timestamp,
    }
}
