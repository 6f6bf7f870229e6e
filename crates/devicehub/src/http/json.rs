//! JSON shapes shared by several routes (contract §6) and small parsing helpers.

use chrono::NaiveDateTime;
use foundation::pagination::{Page, PageParams};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `2026-11-23T09:41:07.120000Z`.
pub(crate) fn timestamp(t: NaiveDateTime) -> String {
    foundation::time::format_rfc3339(t)
}

/// Every list: `{"items": [...], "next_cursor": string|null}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct List<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_cursor: Option<String>,
}

impl<T> List<T> {
    pub(crate) fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        List { items: page.items, next_cursor: page.next_cursor }
    }
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
}

impl ListQuery {
    pub(crate) fn page(&self) -> PageParams {
        PageParams { limit: self.limit, cursor: self.cursor.clone() }
    }
}

/// For `PATCH` fields where `null` means "clear" and absence means "leave as is":
/// use with `#[serde(default, deserialize_with = "nullable")]` on an `Option<Option<T>>`.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
