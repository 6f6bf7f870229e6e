//! Queries on `audit_logs`.

use chrono::DateTime;
use diesel::prelude::*;
use foundation::{
    DbConn, DbError, DeviceId, OrganizationId, Tx, UserId,
    pagination::{Page, PageError, PageParams, Pager, TimeIdKey},
    time,
};

use crate::{
    error::Error,
    models::{AuditRow, NewAuditRow},
    providers::{Actor, Entry, EventType, Filter, NewEntry, Visibility},
    schema::audit_logs::dsl as a,
};

fn row<'a>(actor: &'a Actor, entry: &'a NewEntry, at: chrono::NaiveDateTime) -> NewAuditRow<'a> {
    NewAuditRow {
        occurred_at: at,
        event_type: entry.event_type.as_str(),
        description: &entry.description,
        actor_user_id: actor.user_id.map(|id| id.0),
        target_device_id: entry.target_device_id.map(|id| id.0),
        organization_id: entry.organization_id.map(|id| id.0),
        details: entry.details.to_string(),
        request_id: actor.request_id.as_deref(),
    }
}

pub(crate) fn insert(tx: &mut Tx<'_>, actor: &Actor, entry: &NewEntry) -> Result<(), DbError> {
    diesel::insert_into(a::audit_logs)
        .values(&row(actor, entry, time::now()))
        .execute(&mut **tx)?;
    Ok(())
}

/// Many entries, up to 1000 per statement.
pub(crate) fn insert_many(
    tx: &mut Tx<'_>,
    actor: &Actor,
    entries: &[NewEntry],
) -> Result<(), DbError> {
    let now = time::now();
    for chunk in entries.chunks(1000) {
        let rows: Vec<NewAuditRow<'_>> = chunk.iter().map(|entry| row(actor, entry, now)).collect();
        match &mut **tx {
            DbConn::Pg(c) => diesel::insert_into(a::audit_logs).values(&rows).execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_into(a::audit_logs).values(&rows).execute(c)?,
        };
    }
    Ok(())
}

pub(crate) fn count(conn: &mut DbConn, event_type: EventType) -> Result<i64, Error> {
    Ok(a::audit_logs.filter(a::event_type.eq(event_type.as_str())).count().get_result(conn)?)
}

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
    // The query may return entries of owned devices from before their claim; those are
    // dropped here, and more fetched until the page is full.
    let mut kept = Vec::new();
    let mut after = pager.after().copied();
    loop {
        let rows = query(visibility, filter, after)?.limit(pager.fetch()).load::<AuditRow>(conn)?;
        let exhausted = (rows.len() as i64) < pager.fetch();
        for row in rows {
            after = Some(key_of(&row));
            if is_visible(visibility, &row) {
                kept.push(row);
            }
        }
        if exhausted || kept.len() as i64 >= pager.fetch() {
            break;
        }
    }
    kept.truncate(pager.fetch() as usize);
    Ok(pager.page(kept, key_of).map(entry_from_row))
}

fn key_of(row: &AuditRow) -> TimeIdKey {
    TimeIdKey { micros: row.occurred_at.and_utc().timestamp_micros(), id: row.id }
}

/// The exact per-device windows of a personal view (the query uses their earliest start).
fn is_visible(visibility: &Visibility, row: &AuditRow) -> bool {
    match visibility {
        Visibility::Personal { user_id, devices } => {
            row.actor_user_id == Some(user_id.0)
                || devices.iter().any(|(device, since)| {
                    row.target_device_id == Some(device.0) && row.occurred_at >= *since
                })
        }
        Visibility::Everything | Visibility::Organization(_) => true,
    }
}

type Boxed = crate::schema::audit_logs::BoxedQuery<'static, <DbConn as Connection>::Backend>;

fn query(
    visibility: &Visibility,
    filter: &Filter,
    after: Option<TimeIdKey>,
) -> Result<Boxed, Error> {
    let mut query = a::audit_logs.into_boxed();
    query = match visibility {
        Visibility::Everything => query,
        Visibility::Organization(org) => query.filter(a::organization_id.eq(org.0)),
        Visibility::Personal { user_id, devices } => {
            match devices.iter().map(|(_, since)| *since).min() {
                None => query.filter(a::actor_user_id.eq(user_id.0)),
                Some(earliest) => {
                    let ids: Vec<i64> = devices.iter().map(|(device, _)| device.0).collect();
                    query.filter(
                        a::actor_user_id
                            .eq(user_id.0)
                            .or(a::target_device_id.eq_any(ids).and(a::occurred_at.ge(earliest))),
                    )
                }
            }
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
    if let Some(after) = after {
        let at =
            DateTime::from_timestamp_micros(after.micros).ok_or(PageError::Cursor)?.naive_utc();
        query =
            query.filter(a::occurred_at.lt(at).or(a::occurred_at.eq(at).and(a::id.lt(after.id))));
    }
    Ok(query.order((a::occurred_at.desc(), a::id.desc())))
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
