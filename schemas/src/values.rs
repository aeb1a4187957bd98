//! Value objects: validated at construction, so a value that exists is valid.
//! Every error names the field and the limit, in words a user can act on.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a value was refused: which field, and what it must be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The input field at fault, as the client named it (`name`, `price`, `lines[2].quantity`).
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error for a field nested under `prefix` (`lines[0]` + `quantity`).
    pub fn within(self, prefix: &str) -> Self {
        Self { field: format!("{prefix}.{}", self.field), message: self.message }
    }
}

/// An amount of Japanese yen: whole yen, never negative.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(into = "i64", try_from = "i64")]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn yen(field: &str, amount: i64) -> Result<Self, ValidationError> {
        if amount < 0 {
            return Err(ValidationError::new(
                field,
                format!("must be a whole number of yen, 0 or more (got {amount})"),
            ));
        }
        Ok(Money(amount))
    }

    pub fn as_yen(self) -> i64 {
        self.0
    }

    /// `self * quantity`, or an error naming `field` when it would not fit in 63 bits.
    pub fn times(self, quantity: u32, field: &str) -> Result<Money, ValidationError> {
        self.0
            .checked_mul(i64::from(quantity))
            .map(Money)
            .ok_or_else(|| ValidationError::new(field, "the amount is too large to represent"))
    }

    pub fn plus(self, other: Money, field: &str) -> Result<Money, ValidationError> {
        self.0
            .checked_add(other.0)
            .map(Money)
            .ok_or_else(|| ValidationError::new(field, "the total is too large to represent"))
    }
}

// Deserialising validates like `parse`: snapshots and other stored copies come from outside too.
impl TryFrom<i64> for Money {
    type Error = ValidationError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Money::yen("amount", value)
    }
}

impl From<Money> for i64 {
    fn from(value: Money) -> Self {
        value.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}", self.0)
    }
}

/// The identity of an aggregate: a UUID, version 7 for new ids so ids sort by creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntityId(Uuid);

impl EntityId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        EntityId(Uuid::now_v7())
    }

    /// The id a create command gets when the client supplied an idempotency key: derived from
    /// the key, so a retried create lands on the same aggregate (and partition) and is recognised.
    pub fn derived_from(command_id: &str) -> Self {
        EntityId(Uuid::new_v5(&NAGARE_NAMESPACE, command_id.as_bytes()))
    }

    /// Accepts the hyphenated form (`8-4-4-4-12` hex digits, either case, surrounding white space
    /// ignored) only: the braced, URN and bare-hex forms the `uuid` crate also reads would name
    /// the same aggregate under a different log key, and so a different partition.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let trimmed = text.trim();
        let uuid = (trimmed.len() == 36).then(|| Uuid::try_parse(trimmed).ok()).flatten();
        uuid.map(EntityId).ok_or_else(|| {
            ValidationError::new(
                field,
                format!(
                    "must be a UUID such as 0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b (got {})",
                    echo(text)
                ),
            )
        })
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        EntityId(uuid)
    }

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl Default for EntityId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The refused input, quoted and cut short, so an error never repeats a megabyte back.
fn echo(text: &str) -> String {
    const MAX_ECHO_CHARS: usize = 60;
    if text.chars().count() <= MAX_ECHO_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX_ECHO_CHARS).collect();
        format!("{head:?}…")
    }
}

/// Namespace for ids derived from client idempotency keys.
const NAGARE_NAMESPACE: Uuid = Uuid::from_u128(0x6e61_6761_7265_4e41_4741_5245_0000_0001);

/// Counts Unicode scalar values after trimming and checks them against `min..=max`.
fn bounded_text(
    field: &str,
    text: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let trimmed = text.trim();
    let len = trimmed.chars().count();
    if len < min || len > max {
        let what = if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min} to {max} characters")
        };
        return Err(ValidationError::new(field, format!("{what} after trimming (got {len})")));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(String);

        impl $name {
            pub const MIN_CHARS: usize = $min;
            pub const MAX_CHARS: usize = $max;

            pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
                bounded_text(field, text, $min, $max).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        // Deserialising validates like `parse`: stored copies come from outside too.
        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                $name::parse($field, &text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

text_value!(
    /// A product's name: 1 to 100 characters after trimming.
    ProductName, "name", 1, 100
);
text_value!(
    /// A category's name: 1 to 50 characters after trimming.
    CategoryName, "name", 1, 50
);
text_value!(
    /// Free text describing a product or category: at most 2,000 characters.
    Description, "description", 0, 2000
);
text_value!(
    /// Why an order was cancelled: 1 to 500 characters.
    Reason, "reason", 1, 500
);

/// A positive number of items, at most one million per command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "i64")]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 1_000_000;

    pub fn parse(field: &str, n: i64) -> Result<Self, ValidationError> {
        if n < 1 || n > i64::from(Self::MAX) {
            return Err(ValidationError::new(
                field,
                format!("must be a whole number from 1 to {} (got {n})", Self::MAX),
            ));
        }
        Ok(Quantity(n as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Items on hand: 0 or more, at most one billion.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(into = "u32", try_from = "i64")]
pub struct StockLevel(u32);

impl StockLevel {
    pub const MAX: u32 = 1_000_000_000;

    pub fn parse(field: &str, n: i64) -> Result<Self, ValidationError> {
        if n < 0 || n > i64::from(Self::MAX) {
            return Err(ValidationError::new(
                field,
                format!("must be a whole number from 0 to {} (got {n})", Self::MAX),
            ));
        }
        Ok(StockLevel(n as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

// Deserialising validates like `parse`: snapshots and other stored copies come from outside too.
impl TryFrom<i64> for Quantity {
    type Error = ValidationError;

    fn try_from(n: i64) -> Result<Self, Self::Error> {
        Quantity::parse("quantity", n)
    }
}

impl From<Quantity> for u32 {
    fn from(value: Quantity) -> Self {
        value.0
    }
}

impl TryFrom<i64> for StockLevel {
    type Error = ValidationError;

    fn try_from(n: i64) -> Result<Self, Self::Error> {
        StockLevel::parse("stock", n)
    }
}

impl From<StockLevel> for u32 {
    fn from(value: StockLevel) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests;
