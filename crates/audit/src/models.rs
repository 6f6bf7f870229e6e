use chrono::NaiveDateTime;
use diesel::{Insertable, Queryable};

use crate::schema::audit_logs;

#[derive(Debug, Queryable)]
pub(crate) struct AuditRow {
    pub(crate) id: i64,
    pub(crate) occurred_at: NaiveDateTime,
    pub(crate) event_type: String,
    pub(crate) description: String,
    pub(crate) actor_user_id: Option<i64>,
    pub(crate) target_device_id: Option<i64>,
    pub(crate) organization_id: Option<i64>,
    pub(crate) details: String,
    pub(crate) request_id: Option<String>,
}

#[derive(Debug, Insertable)]
// `None` binds NULL instead of writing DEFAULT, so the statement's SQL never varies and
// diesel can keep it prepared.
#[diesel(table_name = audit_logs, treat_none_as_default_value = false)]
pub(crate) struct NewAuditRow<'a> {
    pub(crate) occurred_at: NaiveDateTime,
    pub(crate) event_type: &'a str,
    pub(crate) description: &'a str,
    pub(crate) actor_user_id: Option<i64>,
    pub(crate) target_device_id: Option<i64>,
    pub(crate) organization_id: Option<i64>,
    pub(crate) details: String,
    pub(crate) request_id: Option<&'a str>,
}
