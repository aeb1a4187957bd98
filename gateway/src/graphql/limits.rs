//! Limits that keep one query from monopolising the gateway or the store.

/// Deepest selection allowed: enough for `categories { edges { node { products { edges { node
/// { category { name } } } } } } }` and a little more, not for unbounded recursion.
pub const MAX_DEPTH: usize = 12;
/// Each field costs 1; a connection multiplies its children by its page size.
pub const MAX_COMPLEXITY: usize = 20_000;
/// Page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Largest `first` accepted.
pub const MAX_PAGE_SIZE: i32 = 100;

/// The complexity of a connection field: its page size times the cost of one item.
pub(crate) fn connection_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let page = first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE);
    usize::try_from(page).unwrap_or(0).saturating_mul(child_complexity).saturating_add(1)
}
