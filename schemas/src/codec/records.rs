//! Which Avro record each Rust command, event and reply is: one table per kind, used both to
//! encode (variant → record name) and to decode (record name → variant).

use crate::commands::Command;
use crate::events::{CategoryEvent, Event, OrderEvent, ProductEvent};
use crate::replies::CommandReply;

use super::CodecError;
use super::registry::RecordKind;
use super::wire::{self, Located};

macro_rules! command_records {
    ($($variant:ident),* $(,)?) => {
        pub(crate) fn encode_command(command: &Command) -> Vec<u8> {
            match command {
                $(Command::$variant(c) => {
                    wire::encode(concat!("nagare.commands.", stringify!($variant)), c)
                })*
            }
        }

        pub(crate) fn decode_command(record: &Located<'_>) -> Result<Command, CodecError> {
            record.expect_kind(RecordKind::Command)?;
            match record.full_name() {
                $(concat!("nagare.commands.", stringify!($variant)) => {
                    record.read().map(Command::$variant)
                })*
                _ => Err(record.unexpected(RecordKind::Command)),
            }
        }
    };
}

command_records!(
    CreateCategory,
    UpdateCategory,
    DeleteCategory,
    CreateProduct,
    UpdateProduct,
    ChangeProductPrice,
    AddStock,
    DeleteProduct,
    ReserveStock,
    ReleaseStock,
    PlaceOrder,
    CancelOrder,
);

macro_rules! event_records {
    ($($aggregate:ident / $inner:ident / $namespace:literal {
        $($variant:ident => $record:ident),* $(,)?
    })*) => {
        pub(crate) fn encode_event(event: &Event) -> Vec<u8> {
            match event {
                $($(Event::$aggregate($inner::$variant(e)) => {
                    wire::encode(concat!($namespace, ".", stringify!($record)), e)
                })*)*
            }
        }

        pub(crate) fn decode_event(record: &Located<'_>) -> Result<Event, CodecError> {
            record.expect_kind(RecordKind::Event)?;
            match record.full_name() {
                $($(concat!($namespace, ".", stringify!($record)) => {
                    record.read().map(|e| Event::$aggregate($inner::$variant(e)))
                })*)*
                _ => Err(record.unexpected(RecordKind::Event)),
            }
        }
    };
}

event_records! {
    Category / CategoryEvent / "nagare.events.category" {
        Created => CategoryCreated,
        Updated => CategoryUpdated,
        Deleted => CategoryDeleted,
    }
    Product / ProductEvent / "nagare.events.product" {
        Created => ProductCreated,
        Updated => ProductUpdated,
        PriceChanged => ProductPriceChanged,
        Deleted => ProductDeleted,
        StockAdded => StockAdded,
        StockReserved => StockReserved,
        StockReservationRejected => StockReservationRejected,
        StockReleased => StockReleased,
    }
    Order / OrderEvent / "nagare.events.order" {
        Created => OrderCreated,
        PaymentProcessed => OrderPaymentProcessed,
        PaymentFailed => OrderPaymentFailed,
        Confirmed => OrderConfirmed,
        Cancelled => OrderCancelled,
    }
}

pub(crate) fn encode_reply(reply: &CommandReply) -> Vec<u8> {
    match reply {
        CommandReply::Accepted(a) => wire::encode("nagare.replies.CommandAccepted", a),
        CommandReply::Rejected(r) => wire::encode("nagare.replies.CommandRejected", r),
    }
}

pub(crate) fn decode_reply(record: &Located<'_>) -> Result<CommandReply, CodecError> {
    record.expect_kind(RecordKind::Reply)?;
    match record.full_name() {
        "nagare.replies.CommandAccepted" => record.read().map(CommandReply::Accepted),
        "nagare.replies.CommandRejected" => record.read().map(CommandReply::Rejected),
        _ => Err(record.unexpected(RecordKind::Reply)),
    }
}
