//! Why a command was refused: the reply's code, the field at fault and a message a user can act on.

use nagare_schemas::ValidationError;
use nagare_schemas::replies::RejectionCode;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?} ({field:?}): {message}")]
pub struct Rejection {
    pub code: RejectionCode,
    /// The input field at fault, in the API's camelCase (`categoryId`, `lines[1].quantity`).
    pub field: Option<String>,
    pub message: String,
}

impl Rejection {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: RejectionCode::ValidationFailed,
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: RejectionCode::NotFound, field: Some(field.into()), message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self { code: RejectionCode::Conflict, field: None, message: message.into() }
    }
}

impl From<ValidationError> for Rejection {
    fn from(error: ValidationError) -> Self {
        Self::validation(error.field, error.message)
    }
}
