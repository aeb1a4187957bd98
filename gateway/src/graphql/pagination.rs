//! Relay cursor pagination over the read models' pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use nagare_consumers::{Page, PageRequest};

use super::errors::{ApiError, ErrorCode};
use super::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Checks `first` and `after` and turns them into a read-model page request.
pub(crate) fn page_request(
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest, ApiError> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if first < 0 {
        return Err(ApiError::validation(
            "first",
            format!("first must be 0 or more (got {first})"),
        ));
    }
    if first > MAX_PAGE_SIZE {
        return Err(ApiError::new(
            ErrorCode::LimitExceeded,
            format!(
                "first may be at most {MAX_PAGE_SIZE} (got {first}); fetch further pages with \
                 `after: pageInfo.endCursor`"
            ),
        )
        .on_field("first"));
    }
    let after = after.filter(|cursor| !cursor.is_empty());
    Ok(PageRequest { first: usize::try_from(first).unwrap_or(0), after })
}

/// A Relay connection of one page, each node made from a view.
pub(crate) fn connection<V, N>(
    page: Page<V>,
    had_cursor: bool,
    node: impl Fn(V) -> N,
) -> Connection<String, N>
where
    N: OutputType,
{
    // Only forward paging exists, so "a previous page" means "this page did not start at the top".
    let mut connection = Connection::new(had_cursor, page.has_next_page);
    connection
        .edges
        .extend(page.items.into_iter().map(|(cursor, view)| Edge::new(cursor, node(view))));
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_defaults_to_twenty() {
        let request = page_request(None, None).ok();
        assert_eq!(request, Some(PageRequest { first: 20, after: None }));
    }

    #[test]
    fn first_over_one_hundred_is_limit_exceeded_on_first() {
        let error = page_request(Some(101), None).err();
        assert_eq!(error.as_ref().map(|e| e.code), Some(ErrorCode::LimitExceeded));
        assert_eq!(error.and_then(|e| e.field).as_deref(), Some("first"));
        assert!(page_request(Some(100), None).is_ok());
    }

    #[test]
    fn negative_first_is_a_validation_error_on_first() {
        let error = page_request(Some(-1), None).err();
        assert_eq!(error.as_ref().map(|e| e.code), Some(ErrorCode::ValidationFailed));
        assert_eq!(error.and_then(|e| e.field).as_deref(), Some("first"));
    }

    #[test]
    fn an_empty_cursor_means_from_the_start() {
        let request = page_request(Some(5), Some(String::new())).ok();
        assert_eq!(request, Some(PageRequest { first: 5, after: None }));
    }

    #[test]
    fn edges_keep_the_page_order_and_cursors() {
        let page =
            Page { items: vec![("c1".to_owned(), 1), ("c2".to_owned(), 2)], has_next_page: true };
        let connection = connection(page, false, |n: i32| n * 10);
        let edges: Vec<_> = connection.edges.iter().map(|e| (e.cursor.clone(), e.node)).collect();
        assert_eq!(edges, [("c1".to_owned(), 10), ("c2".to_owned(), 20)]);
        assert!(connection.has_next_page);
        assert!(!connection.has_previous_page);
    }
}
