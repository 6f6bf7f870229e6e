//! Hardware blueprints.

use audit::providers::{Actor, EventType, NewEntry};
use diesel::prelude::*;
use foundation::{
    DbConn, Tx,
    pagination::{Page, PageParams, Pager},
    time,
};

use crate::{
    error::Error,
    models::{Blueprint, BlueprintRow, NewBlueprint},
    schema::hardware_blueprints as hb,
    validate,
};

/// Creates a blueprint. Who may is the caller's decision (`blueprint:manage`). A bad name,
/// version or description is [`Error::Invalid`]; a version that exists [`Error::Conflict`].
/// Writes `BLUEPRINT_CREATED`.
pub fn create_blueprint(
    tx: &mut Tx<'_>,
    new: &NewBlueprint,
    actor: &Actor,
) -> Result<Blueprint, Error> {
    validate::blueprint_name(&new.name)?;
    validate::blueprint_version(&new.version)?;
    if let Some(description) = &new.description {
        validate::description(description)?;
    }
    let inserted = tx.savepoint(|conn| {
        diesel::insert_into(hb::table)
            .values((
                hb::name.eq(&new.name),
                hb::version.eq(&new.version),
                hb::description.eq(&new.description),
                hb::created_at.eq(time::now()),
            ))
            .get_result::<BlueprintRow>(conn)
    });
    let blueprint = match inserted {
        Ok(row) => Blueprint::from(row),
        Err(err) => {
            let db: foundation::DbError = err.into();
            return Err(if db.is_unique_violation() {
                Error::Conflict(format!("blueprint version {:?} exists", new.version))
            } else {
                Error::Storage(db)
            });
        }
    };
    let entry = NewEntry::new(
        EventType::BlueprintCreated,
        format!("blueprint {} created", blueprint.version),
    )
    .with_details(
        serde_json::json!({ "blueprint_id": blueprint.id, "version": blueprint.version }),
    );
    audit::providers::record(tx, actor, entry)?;
    Ok(blueprint)
}

/// One page of blueprints by id.
pub fn list_blueprints(conn: &mut DbConn, page: &PageParams) -> Result<Page<Blueprint>, Error> {
    let pager: Pager<i64> = Pager::new("blueprints", page)?;
    let mut query = hb::table.order(hb::id).limit(pager.fetch()).into_boxed();
    if let Some(after) = pager.after() {
        query = query.filter(hb::id.gt(*after));
    }
    let rows: Vec<BlueprintRow> = query.load(conn)?;
    Ok(pager.page(rows, |row| row.id).map(Blueprint::from))
}

/// One blueprint; [`Error::NotFound`] when missing.
pub fn get_blueprint(conn: &mut DbConn, id: i64) -> Result<Blueprint, Error> {
    let row: Option<BlueprintRow> = hb::table.find(id).first(conn).optional()?;
    row.map(Blueprint::from).ok_or(Error::NotFound("blueprint"))
}

/// The blueprint with this version, if any.
pub fn find_blueprint_by_version(
    conn: &mut DbConn,
    version: &str,
) -> Result<Option<Blueprint>, Error> {
    let row: Option<BlueprintRow> =
        hb::table.filter(hb::version.eq(version)).first(conn).optional()?;
    Ok(row.map(Blueprint::from))
}
