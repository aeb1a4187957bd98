//! The API's errors: a code from `API.md` in `extensions.code`, the input field at fault in
//! `extensions.field` where there is one, and a message a user can act on.

use async_graphql::ErrorExtensionValues;
use nagare_schemas::ValidationError;
use nagare_schemas::replies::{CommandRejected, RejectionCode};

/// The codes of `API.md`, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    ValidationFailed,
    NotFound,
    Conflict,
    Unavailable,
    Timeout,
    Unauthorized,
    LimitExceeded,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "VALIDATION_FAILED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::LimitExceeded => "LIMIT_EXCEEDED",
        }
    }
}

impl From<RejectionCode> for ErrorCode {
    fn from(code: RejectionCode) -> Self {
        match code {
            RejectionCode::ValidationFailed => ErrorCode::ValidationFailed,
            RejectionCode::NotFound => ErrorCode::NotFound,
            RejectionCode::Conflict => ErrorCode::Conflict,
        }
    }
}

/// One API error. Deliberately not `Display`, so it converts into `async_graphql::Error` only
/// through `From` below, which sets the extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, field: None, message: message.into() }
    }

    pub fn on_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message).on_field(field)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", error.code.as_str());
        if let Some(field) = &error.field {
            extensions.set("field", field.as_str());
        }
        async_graphql::Error { message: error.message, source: None, extensions: Some(extensions) }
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        let message = format!("{}: {}", error.field, error.message);
        ApiError::validation(error.field, message)
    }
}

impl From<CommandRejected> for ApiError {
    fn from(rejection: CommandRejected) -> Self {
        ApiError { code: rejection.code.into(), field: rejection.field, message: rejection.message }
    }
}

/// Read-model failures: a bad cursor is the client's, anything else is ours.
impl From<nagare_consumers::Error> for ApiError {
    fn from(error: nagare_consumers::Error) -> Self {
        match error {
            nagare_consumers::Error::BadCursor(cursor) => ApiError::validation(
                "after",
                format!(
                    "`after` is not a cursor of this listing ({cursor:?}); pass a pageInfo.endCursor \
                     from a previous page, or omit it to start from the beginning"
                ),
            ),
            nagare_consumers::Error::Timeout(waited) => ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the change was applied, but the read models did not show it within {waited:?}; \
                     it will appear shortly (query again, or use consistency: EVENTUAL)"
                ),
            ),
            other => {
                tracing::error!(error = %other, "read model query failed");
                ApiError::unavailable(format!("the read models cannot be read right now: {other}"))
            }
        }
    }
}

/// Command-bus failures.
impl From<crate::Error> for ApiError {
    fn from(error: crate::Error) -> Self {
        match error {
            timeout @ crate::Error::CommandTimeout { .. } => {
                ApiError::new(ErrorCode::Timeout, timeout.to_string())
            }
            other => {
                tracing::error!(error = %other, "sending a command failed");
                ApiError::unavailable(format!(
                    "the command could not be sent ({other}); nothing was written, try again"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::Value;

    use super::*;

    fn extensions(error: ApiError) -> (Option<Value>, Option<Value>) {
        let error = async_graphql::Error::from(error);
        let ext = error.extensions.unwrap_or_default();
        (ext.get("code").cloned(), ext.get("field").cloned())
    }

    #[test]
    fn validation_errors_carry_code_and_field() {
        let error = ApiError::from(ValidationError::new("lines[0].quantity", "must be 1 or more"));
        assert_eq!(error.message, "lines[0].quantity: must be 1 or more");
        let (code, field) = extensions(error);
        assert_eq!(code, Some(Value::from("VALIDATION_FAILED")));
        assert_eq!(field, Some(Value::from("lines[0].quantity")));
    }

    #[test]
    fn rejections_keep_the_processor_code_and_field() {
        let rejection = CommandRejected {
            command_id: "c".into(),
            aggregate_id: "a".into(),
            code: RejectionCode::NotFound,
            field: Some("categoryId".into()),
            message: "no category with id x".into(),
        };
        let (code, field) = extensions(rejection.into());
        assert_eq!(code, Some(Value::from("NOT_FOUND")));
        assert_eq!(field, Some(Value::from("categoryId")));
    }

    #[test]
    fn a_command_timeout_says_retrying_is_safe() {
        let error = ApiError::from(crate::Error::CommandTimeout {
            command_id: "c-1".into(),
            timeout: std::time::Duration::from_secs(1),
        });
        assert_eq!(error.code, ErrorCode::Timeout);
        assert!(error.message.contains("same commandId is safe"), "{}", error.message);
    }

    #[test]
    fn a_bad_cursor_names_after() {
        let error = ApiError::from(nagare_consumers::Error::BadCursor("zz".into()));
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        assert_eq!(error.field.as_deref(), Some("after"));
    }

    #[test]
    fn codes_are_those_of_the_api() {
        let all = [
            ErrorCode::ValidationFailed,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::Unavailable,
            ErrorCode::Timeout,
            ErrorCode::Unauthorized,
            ErrorCode::LimitExceeded,
        ];
        let names: Vec<_> = all.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "VALIDATION_FAILED",
                "NOT_FOUND",
                "CONFLICT",
                "UNAVAILABLE",
                "TIMEOUT",
                "UNAUTHORIZED",
                "LIMIT_EXCEEDED"
            ]
        );
    }
}
