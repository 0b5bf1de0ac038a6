//! Cursor pagination for every list endpoint: an opaque cursor over a `(timestamp, id)`
//! keyset, so that pages stay stable while rows are added, and a bounded `limit`.

use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use contracts::ErrorCode;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Problem;

/// `?cursor=&limit=`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A validated page request: where to start after, and how many rows (plus one, to know
/// whether another page follows).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after: Option<Cursor>,
    pub limit: u32,
}

impl PageQuery {
    /// `limit` defaults to `default` and may not exceed `max`.
    pub fn parse(&self, default: u32, max: u32) -> Result<Page, Problem> {
        let limit = self.limit.unwrap_or(default);
        if limit == 0 || limit > max {
            return Err(invalid("limit", &format!("must be between 1 and {max}")));
        }
        let after = self.cursor.as_deref().map(Cursor::decode).transpose()?;
        Ok(Page { after, limit })
    }
}

impl Page {
    /// Rows to fetch: one more than the page, to tell whether there is a next one.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Trims the extra row and returns the cursor of the next page, if any.
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> Cursor,
    ) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() > limit {
            rows.truncate(limit);
            let next = rows.last().map(|row| key(row).encode());
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

/// The position after which a page starts: a timestamp and an id, and for lists ordered by
/// relevance first, the score of the last row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    pub score: Option<f32>,
    pub at: OffsetDateTime,
    pub id: Uuid,
}

impl Cursor {
    pub fn new(at: OffsetDateTime, id: Uuid) -> Self {
        Self {
            score: None,
            at,
            id,
        }
    }

    pub fn encode(&self) -> String {
        // f32's Display is the shortest text that parses back to the same bits, so the
        // database compares against exactly the score it produced.
        let score = self
            .score
            .map(|score| score.to_string())
            .unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!(
            "{score}|{}|{}",
            self.at.unix_timestamp_nanos(),
            self.id
        ))
    }

    pub fn decode(raw: &str) -> Result<Self, Problem> {
        let bad = || invalid("cursor", "is not a cursor this API returned");
        let text = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let text = String::from_utf8(text).map_err(|_| bad())?;
        let mut parts = text.splitn(3, '|');
        let (Some(score), Some(nanos), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let score = match score {
            "" => None,
            score => Some(score.parse::<f32>().map_err(|_| bad())?),
        };
        let nanos: i128 = nanos.parse().map_err(|_| bad())?;
        Ok(Self {
            score,
            at: OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

fn invalid(field: &str, message: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
        format!("{field} {message}"),
    )
    .with_errors([(field.to_owned(), message.to_owned())].into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_the_round_trip_and_garbage_is_refused() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_123_456_789)
            .expect("valid time");
        let cursor = Cursor::new(at, Uuid::now_v7());
        assert_eq!(Cursor::decode(&cursor.encode()).expect("decodes"), cursor);
        let scored = Cursor {
            score: Some(0.060_792_71),
            ..cursor
        };
        assert_eq!(Cursor::decode(&scored.encode()).expect("decodes"), scored);
        assert!(Cursor::decode("bm9wZQ").is_err());
    }

    #[test]
    fn limits_outside_the_bounds_are_refused() {
        let query = |limit| PageQuery {
            cursor: None,
            limit: Some(limit),
        };
        assert!(query(0).parse(20, 100).is_err());
        assert!(query(101).parse(20, 100).is_err());
        assert_eq!(query(100).parse(20, 100).expect("ok").limit, 100);
    }
}
