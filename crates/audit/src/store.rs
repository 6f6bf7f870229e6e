//! Queries on `audit_logs`.

use chrono::DateTime;
use diesel::prelude::*;
use foundation::{
    DbConn, DeviceId, OrganizationId, Tx, UserId,
    pagination::{Page, PageParams, Pager, TimeIdKey},
    time,
};

use crate::{
    error::Error,
    models::{AuditRow, NewAuditRow},
    providers::{Actor, Entry, EventType, Filter, NewEntry, Visibility},
    schema::audit_logs::dsl as a,
};

pub(crate) fn insert(tx: &mut Tx<'_>, actor: &Actor, entry: &NewEntry) -> Result<(), Error> {
    let row = NewAuditRow {
        occurred_at: time::now(),
        event_type: entry.event_type.as_str(),
        description: &entry.description,
        actor_user_id: actor.user_id.map(|id| id.0),
        target_device_id: entry.target_device_id.map(|id| id.0),
        organization_id: entry.organization_id.map(|id| id.0),
        details: entry.details.to_string(),
        request_id: actor.request_id.as_deref(),
    };
    diesel::insert_into(a::audit_logs).values(&row).execute(&mut **tx)?;
    Ok(())
}

pub(crate) fn count(conn: &mut DbConn, event_type: EventType) -> Result<i64, Error> {
    Ok(a::audit_logs.filter(a::event_type.eq(event_type.as_str())).count().get_result(conn)?)
}

type Condition = Box<
    dyn BoxableExpression<
            a::audit_logs,
            <DbConn as Connection>::Backend,
            SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
        >,
>;

/// The list's identity for its cursors: the visibility and the filters.
fn list_name(visibility: &Visibility, filter: &Filter) -> String {
    format!("audit:{visibility:?}:{filter:?}")
}

pub(crate) fn list(
    conn: &mut DbConn,
    visibility: &Visibility,
    filter: &Filter,
    params: &PageParams,
) -> Result<Page<Entry>, Error> {
    let pager: Pager<TimeIdKey> = Pager::new(list_name(visibility, filter), params)?;
    let mut query = a::audit_logs.into_boxed();

    query = match visibility {
        Visibility::Everything => query,
        Visibility::Organization(org) => query.filter(a::organization_id.eq(org.0)),
        Visibility::Personal { user_id, devices } => {
            let mut seen: Condition = Box::new(a::actor_user_id.eq(user_id.0));
            for (device, since) in devices {
                seen = Box::new(
                    seen.or(a::target_device_id.eq(device.0).and(a::occurred_at.ge(*since))),
                );
            }
            query.filter(seen)
        }
    };
    if let Some(device) = filter.device_id {
        query = query.filter(a::target_device_id.eq(device.0));
    }
    if let Some(actor) = filter.actor_user_id {
        query = query.filter(a::actor_user_id.eq(actor.0));
    }
    if let Some(event_type) = filter.event_type {
        query = query.filter(a::event_type.eq(event_type.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(a::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(a::occurred_at.lt(until));
    }
    if let Some(after) = pager.after() {
        let at = DateTime::from_timestamp_micros(after.micros)
            .ok_or(foundation::pagination::PageError::Cursor)?
            .naive_utc();
        query =
            query.filter(a::occurred_at.lt(at).or(a::occurred_at.eq(at).and(a::id.lt(after.id))));
    }
    let rows: Vec<AuditRow> =
        query.order((a::occurred_at.desc(), a::id.desc())).limit(pager.fetch()).load(conn)?;
    let page = pager.page(rows, |row| TimeIdKey {
        micros: row.occurred_at.and_utc().timestamp_micros(),
        id: row.id,
    });
    Ok(page.map(entry_from_row))
}

fn entry_from_row(row: AuditRow) -> Entry {
    Entry {
        id: row.id,
        occurred_at: row.occurred_at,
        event_type: row.event_type,
        description: row.description,
        actor_user_id: row.actor_user_id.map(UserId),
        target_device_id: row.target_device_id.map(DeviceId),
        organization_id: row.organization_id.map(OrganizationId),
        details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
        request_id: row.request_id,
    }
}
