diesel::table! {
    hardware_blueprints (id) {
        id -> BigInt,
        name -> Text,
        version -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        cpu_serial -> Text,
        current_uuid -> Text,
        hardware_blueprint_id -> BigInt,
        organization_id -> Nullable<BigInt>,
        name -> Nullable<Text>,
        status -> Text,
        credential_hash -> Nullable<Text>,
        claim_code_hash -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(devices -> hardware_blueprints (hardware_blueprint_id));
diesel::allow_tables_to_appear_in_same_query!(hardware_blueprints, devices);

diesel::table! {
    claim_failures (id) {
        id -> BigInt,
        device_id -> BigInt,
        occurred_at -> Timestamp,
    }
}
