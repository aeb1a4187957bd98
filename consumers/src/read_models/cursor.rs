//! Opaque page cursors: the lower-case hex of a listing row's clustering key. Clients only pass
//! them back; hex keeps them URL- and JSON-safe without another dependency.

use bytes::Bytes;

use crate::{Error, Result};

use super::tables::LISTING_KEY_LEN;

/// The cursor of a listing row.
pub(crate) fn encode(clustering: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(clustering.len() * 2);
    for byte in clustering {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The clustering key a cursor names; `Error::BadCursor` unless it is one of ours.
pub(crate) fn decode(cursor: &str) -> Result<Bytes> {
    let bad = || Error::BadCursor(cursor.to_owned());
    let text = cursor.as_bytes();
    if text.len() != LISTING_KEY_LEN * 2 {
        return Err(bad());
    }
    let mut key = Vec::with_capacity(LISTING_KEY_LEN);
    for pair in text.chunks_exact(2) {
        let high = hex_value(pair[0]).ok_or_else(bad)?;
        let low = hex_value(pair[1]).ok_or_else(bad)?;
        key.push(high << 4 | low);
    }
    Ok(Bytes::from(key))
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_what_is_not_a_cursor() {
        for bad in ["", "abc", "zz", &"0".repeat(47), &"0".repeat(50), &"g".repeat(48), "é"] {
            assert!(matches!(decode(bad), Err(Error::BadCursor(text)) if text == bad), "{bad}");
        }
    }

    #[test]
    fn accepts_upper_case_digits() {
        let key = decode(&"AB".repeat(LISTING_KEY_LEN)).unwrap();
        assert!(key.iter().all(|byte| *byte == 0xab));
    }

    proptest! {
        #[test]
        fn round_trips(key in proptest::collection::vec(any::<u8>(), LISTING_KEY_LEN)) {
            let decoded = decode(&encode(&key)).unwrap();
            prop_assert_eq!(decoded.as_ref(), key.as_slice());
        }
    }
}
