//! The device_access facade. Providers take the connection (`&mut DbConn`) or, when they change
//! data, the caller's transaction (`&mut Tx`).

pub use crate::{
    error::Error,
    listing::{list_visible_devices, owned_device_windows},
    manage::{
        delete_device, grant_access, link_owner, list_access, remove_all_links_of_user,
        rename_device, revoke_access, rotate_credentials, transfer_device,
    },
    models::{Action, Link, LinkRole},
    policy::{
        get_device_if_user_has_access, get_device_if_user_has_delete_access,
        get_device_if_user_has_read_access, get_device_if_user_has_update_access,
        is_user_owner_of_device, may_access,
    },
};
