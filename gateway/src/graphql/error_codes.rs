//! Gives every error a code of `API.md`, including those async-graphql raises itself before any
//! resolver runs: a malformed or invalid document, an argument of the wrong type (a price with
//! a fraction), a query over the depth or complexity limits. Resolver errors already carry one.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest};
use async_graphql::{Response, ServerError};

use super::errors::ErrorCode;
use super::limits::{MAX_COMPLEXITY, MAX_DEPTH};
use super::scalars::YEN_RULE;

/// The extension factory to register on the schema.
#[derive(Debug, Default, Clone, Copy)]
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            classify(error);
        }
        response
    }
}

fn classify(error: &mut ServerError) {
    let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
    if has_code {
        return;
    }
    let (code, field, message) = describe(&error.message, error.path.is_empty());
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", code.as_str());
    if let Some(field) = field {
        extensions.set("field", field);
    }
    if let Some(message) = message {
        error.message = message;
    }
}

/// The code, field and (when it helps) a clearer message for an error async-graphql raised.
fn describe(message: &str, request_level: bool) -> (ErrorCode, Option<String>, Option<String>) {
    if message == "Query is nested too deep." {
        let clearer = format!(
            "the query is nested more than {MAX_DEPTH} levels deep; ask for fewer nested fields"
        );
        return (ErrorCode::LimitExceeded, None, Some(clearer));
    }
    if message == "Query is too complex." {
        let clearer = format!(
            "the query asks for too much at once (complexity over {MAX_COMPLEXITY}); \
             request smaller pages (`first`) or fewer nested fields"
        );
        return (ErrorCode::LimitExceeded, None, Some(clearer));
    }
    if let Some(rest) = message.strip_prefix("Invalid value for argument ") {
        let reason = after_path(rest);
        // A missing or unknown input field is named in the reason, not in the path.
        let inner = ["field ", "unknown field "]
            .iter()
            .find(|prefix| reason.starts_with(*prefix))
            .and_then(|_| first_quoted(reason));
        let field = first_quoted(rest).map(|path| match inner {
            Some(inner) => api_field(&format!("{path}.{inner}")),
            None => api_field(path),
        });
        let clearer = match (&field, rest.contains("expected type \"Yen\"")) {
            (Some(field), true) => Some(format!("{field} must be {YEN_RULE}")),
            (Some(field), false) => Some(format!("{field}: {reason}")),
            (None, _) => None,
        };
        return (ErrorCode::ValidationFailed, field, clearer);
    }
    if request_level
        || message.starts_with("Failed to parse")
        || message.starts_with("Expected input type")
    {
        // The document or its arguments are wrong: the client can fix them.
        return (ErrorCode::ValidationFailed, None, None);
    }
    (ErrorCode::Unavailable, None, None)
}

fn first_quoted(text: &str) -> Option<&str> {
    let start = text.find('"')? + 1;
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

/// What follows `"path", ` in async-graphql's argument errors.
fn after_path(rest: &str) -> &str {
    rest.splitn(3, '"').nth(2).map_or(rest, |tail| tail.trim_start_matches([',', ' ']))
}

/// async-graphql's argument path (`input.lines.0.quantity`) as the API names fields
/// (`lines[0].quantity`): list indices in brackets, and relative to the `input` argument.
fn api_field(path: &str) -> String {
    let mut segments = path.split('.').peekable();
    if segments.peek() == Some(&"input") && path.contains('.') {
        segments.next();
    }
    let mut field = String::new();
    for segment in segments {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            field.push('[');
            field.push_str(segment);
            field.push(']');
        } else {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(segment);
        }
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_paths_become_api_field_names() {
        assert_eq!(api_field("input.lines.0.quantity"), "lines[0].quantity");
        assert_eq!(api_field("input.price"), "price");
        assert_eq!(api_field("price"), "price");
        assert_eq!(api_field("input"), "input");
        assert_eq!(api_field("first"), "first");
    }

    #[test]
    fn a_bad_yen_argument_is_a_validation_error_naming_the_field() {
        let (code, field, message) =
            describe(r#"Invalid value for argument "input.price", expected type "Yen""#, true);
        assert_eq!(code, ErrorCode::ValidationFailed);
        assert_eq!(field.as_deref(), Some("price"));
        assert!(message.unwrap_or_default().starts_with("price must be a whole number of yen"));
    }

    #[test]
    fn other_argument_errors_keep_their_reason() {
        let (code, field, message) = describe(
            r#"Invalid value for argument "input.lines.1.quantity", expected type "Int""#,
            true,
        );
        assert_eq!(code, ErrorCode::ValidationFailed);
        assert_eq!(field.as_deref(), Some("lines[1].quantity"));
        assert_eq!(message.as_deref(), Some(r#"lines[1].quantity: expected type "Int""#));
    }

    #[test]
    fn a_missing_input_field_is_named() {
        let (code, field, _) = describe(
            r#"Invalid value for argument "input", field "name" of type "String!" is required but not provided"#,
            true,
        );
        assert_eq!(code, ErrorCode::ValidationFailed);
        assert_eq!(field.as_deref(), Some("name"));
        let (_, field, _) = describe(
            r#"Invalid value for argument "input.lines.2", unknown field "qty" of type "OrderLineInput""#,
            true,
        );
        assert_eq!(field.as_deref(), Some("lines[2].qty"));
    }

    #[test]
    fn limits_are_limit_exceeded() {
        assert_eq!(describe("Query is nested too deep.", true).0, ErrorCode::LimitExceeded);
        assert_eq!(describe("Query is too complex.", true).0, ErrorCode::LimitExceeded);
    }

    #[test]
    fn document_errors_are_the_clients_and_resolver_failures_ours() {
        assert_eq!(
            describe(r#"Unknown field "nope" on type "Query"."#, true).0,
            ErrorCode::ValidationFailed
        );
        assert_eq!(describe("something broke", false).0, ErrorCode::Unavailable);
    }
}
