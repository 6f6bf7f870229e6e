//! Keyset pagination for every list (contract §6): `?limit=` 1–200 (default 50) and an opaque
//! `?cursor=` that names the list it belongs to, so a cursor of another list is refused.

use std::str::FromStr;

use data_encoding::BASE64URL_NOPAD;

/// Items per page when the client names no limit.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most items per page.
pub const MAX_LIMIT: i64 = 200;

/// What the client asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageParams {
    /// `?limit=`.
    pub limit: Option<i64>,
    /// `?cursor=`.
    pub cursor: Option<String>,
}

/// The request is not a valid page of this list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// `limit` outside 1..=200.
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    Limit,
    /// The cursor is garbled or belongs to another list.
    #[error("the cursor is not valid for this list")]
    Cursor,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// The cursor of the next page, `None` on the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The same page with every item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// A validated page request for one list. `K` is the list's sort key.
#[derive(Debug, Clone)]
pub struct Pager<K> {
    list: String,
    limit: i64,
    after: Option<K>,
}

impl<K: FromStr + ToString> Pager<K> {
    /// Validates `params` for the list named `list` (name it with its filters, so a cursor
    /// made under other filters is refused too).
    pub fn new(list: impl Into<String>, params: &PageParams) -> Result<Self, PageError> {
        let list = list.into();
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(PageError::Limit);
        }
        let after = match &params.cursor {
            None => None,
            Some(cursor) => Some(decode(&list, cursor)?),
        };
        Ok(Pager { list, limit, after })
    }

    /// The key after which this page starts (`None` for the first page).
    pub fn after(&self) -> Option<&K> {
        self.after.as_ref()
    }

    /// How many rows to fetch: one more than the page, to learn whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the fetched rows to the page and makes the next cursor from the last item's key.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> Page<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor =
            if has_more { rows.last().map(|last| encode(&self.list, &key(last))) } else { None };
        Page { items: rows, next_cursor }
    }
}

fn list_tag(list: &str) -> String {
    // FNV-1a: a short, stable fingerprint of the list's identity.
    let hash = list.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn encode<K: ToString>(list: &str, key: &K) -> String {
    BASE64URL_NOPAD.encode(format!("{}.{}", list_tag(list), key.to_string()).as_bytes())
}

fn decode<K: FromStr>(list: &str, cursor: &str) -> Result<K, PageError> {
    let bytes = BASE64URL_NOPAD.decode(cursor.as_bytes()).map_err(|_| PageError::Cursor)?;
    let text = String::from_utf8(bytes).map_err(|_| PageError::Cursor)?;
    let (tag, key) = text.split_once('.').ok_or(PageError::Cursor)?;
    if tag != list_tag(list) {
        return Err(PageError::Cursor);
    }
    key.parse().map_err(|_| PageError::Cursor)
}

/// A sort key of a timestamp (in microseconds) and an id, for lists newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeIdKey {
    /// The timestamp, as microseconds since the Unix epoch.
    pub micros: i64,
    /// The row id.
    pub id: i64,
}

impl FromStr for TimeIdKey {
    type Err = PageError;
    fn from_str(s: &str) -> Result<Self, PageError> {
        let (micros, id) = s.split_once('_').ok_or(PageError::Cursor)?;
        Ok(TimeIdKey {
            micros: micros.parse().map_err(|_| PageError::Cursor)?,
            id: id.parse().map_err(|_| PageError::Cursor)?,
        })
    }
}

impl std::fmt::Display for TimeIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.micros, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<i64>, cursor: Option<&str>) -> PageParams {
        PageParams { limit, cursor: cursor.map(str::to_owned) }
    }

    #[test]
    fn limit_must_be_within_bounds() {
        assert!(Pager::<i64>::new("users", &params(None, None)).is_ok());
        for ok in [1, 200] {
            assert!(Pager::<i64>::new("users", &params(Some(ok), None)).is_ok());
        }
        for bad in [0, -1, 201, i64::MAX] {
            assert_eq!(
                Pager::<i64>::new("users", &params(Some(bad), None)).unwrap_err(),
                PageError::Limit
            );
        }
    }

    #[test]
    fn walks_pages_and_refuses_foreign_or_garbled_cursors() {
        let pager = Pager::<i64>::new("users", &params(Some(2), None)).unwrap();
        let page = pager.page(vec![1, 2, 3], |x| *x);
        assert_eq!(page.items, vec![1, 2]);
        let cursor = page.next_cursor.unwrap();
        let next = Pager::<i64>::new("users", &params(Some(2), Some(&cursor))).unwrap();
        assert_eq!(next.after(), Some(&2));
        assert_eq!(next.page(vec![3], |x| *x).next_cursor, None);

        for bad in [cursor.as_str(), "garbage!", "", "AAAA"] {
            let list = if bad == cursor { "organizations" } else { "users" };
            let err = Pager::<i64>::new(list, &params(None, Some(bad))).unwrap_err();
            assert_eq!(err, PageError::Cursor, "{bad:?}");
        }
    }

    #[test]
    fn time_id_keys_round_trip() {
        let key = TimeIdKey { micros: 1_790_000_000_123_456, id: 42 };
        assert_eq!(key.to_string().parse::<TimeIdKey>(), Ok(key));
    }
}
