use proptest::prelude::*;

use super::*;

/// A string of exactly `n` Unicode scalar values drawn from `alphabet`, none of them white space.
fn chars_of(alphabet: &'static [char], n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), n)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Letters of several scripts, including ones outside the Basic Multilingual Plane (four UTF-8
/// bytes, two UTF-16 units): each counts as one character.
const ALPHABET: &[char] = &['a', 'Z', '7', 'é', 'ß', '抹', '茶', 'の', '😀', '𠮷', '-', '.'];

proptest! {
    #[test]
    fn product_names_of_1_to_100_characters_are_accepted(
        name in (1usize..=100).prop_flat_map(|n| chars_of(ALPHABET, n)),
    ) {
        let parsed = ProductName::parse("name", &name).expect("accepted");
        prop_assert_eq!(parsed.as_str(), name.as_str());
    }

    #[test]
    fn product_names_over_100_characters_are_refused(
        name in (101usize..=300).prop_flat_map(|n| chars_of(ALPHABET, n)),
    ) {
        let err = ProductName::parse("name", &name).expect_err("too long");
        prop_assert_eq!(err.field.as_str(), "name");
        prop_assert!(err.message.contains("1 to 100"), "{}", err.message);
    }

    #[test]
    fn category_names_of_1_to_50_characters_are_accepted(
        name in (1usize..=50).prop_flat_map(|n| chars_of(ALPHABET, n)),
    ) {
        prop_assert!(CategoryName::parse("name", &name).is_ok());
    }

    #[test]
    fn category_names_over_50_characters_are_refused(
        name in (51usize..=200).prop_flat_map(|n| chars_of(ALPHABET, n)),
    ) {
        let err = CategoryName::parse("input.name", &name).expect_err("too long");
        prop_assert_eq!(err.field.as_str(), "input.name");
        prop_assert!(err.message.contains("1 to 50"), "{}", err.message);
    }

    #[test]
    fn surrounding_white_space_is_trimmed_and_not_counted(
        name in (1usize..=100).prop_flat_map(|n| chars_of(ALPHABET, n)),
        before in "[ \t\n\u{3000}]{0,5}",
        after in "[ \t\n\u{3000}]{0,5}",
    ) {
        let parsed = ProductName::parse("name", &format!("{before}{name}{after}")).expect("accepted");
        prop_assert_eq!(parsed.into_string(), name);
    }

    #[test]
    fn any_non_negative_amount_is_money(yen in 0i64..=i64::MAX) {
        prop_assert_eq!(Money::yen("price", yen).expect("accepted").as_yen(), yen);
    }

    #[test]
    fn negative_amounts_are_refused(yen in i64::MIN..0) {
        let err = Money::yen("price", yen).expect_err("negative");
        prop_assert_eq!(err.field.as_str(), "price");
    }

    #[test]
    fn times_and_plus_are_exact_or_refused(yen in 0i64..=i64::MAX, quantity in any::<u32>()) {
        let money = Money::yen("price", yen).expect("accepted");
        match yen.checked_mul(i64::from(quantity)) {
            Some(product) => prop_assert_eq!(money.times(quantity, "subtotal").expect("fits").as_yen(), product),
            None => prop_assert_eq!(money.times(quantity, "subtotal").expect_err("overflow").field, "subtotal"),
        }
        match yen.checked_add(yen) {
            Some(sum) => prop_assert_eq!(money.plus(money, "total").expect("fits").as_yen(), sum),
            None => prop_assert_eq!(money.plus(money, "total").expect_err("overflow").field, "total"),
        }
    }

    #[test]
    fn quantities_from_1_to_a_million_are_accepted(n in 1i64..=1_000_000) {
        prop_assert_eq!(i64::from(Quantity::parse("quantity", n).expect("accepted").get()), n);
    }

    #[test]
    fn quantities_outside_1_to_a_million_are_refused(
        n in prop_oneof![i64::MIN..=0, 1_000_001i64..=i64::MAX],
    ) {
        let err = Quantity::parse("lines[0].quantity", n).expect_err("out of range");
        prop_assert_eq!(err.field.as_str(), "lines[0].quantity");
    }

    #[test]
    fn stock_levels_from_0_to_a_billion_are_accepted(n in 0i64..=1_000_000_000) {
        prop_assert_eq!(i64::from(StockLevel::parse("initialStock", n).expect("accepted").get()), n);
    }

    #[test]
    fn stock_levels_outside_0_to_a_billion_are_refused(
        n in prop_oneof![i64::MIN..0, 1_000_000_001i64..=i64::MAX],
    ) {
        prop_assert!(StockLevel::parse("initialStock", n).is_err());
    }

    #[test]
    fn every_uuid_parses_back_from_its_display(n in any::<u128>()) {
        let id = EntityId::from_uuid(Uuid::from_u128(n));
        prop_assert_eq!(EntityId::parse("id", &id.to_string()).expect("accepted"), id);
        let upper = id.to_string().to_uppercase();
        prop_assert_eq!(EntityId::parse("id", &upper).expect("accepted"), id);
    }

    #[test]
    fn arbitrary_text_never_panics_and_names_the_field(text in any::<String>()) {
        if let Err(err) = EntityId::parse("productId", &text) {
            prop_assert_eq!(err.field.as_str(), "productId");
        }
        let _ = ProductName::parse("name", &text);
        let _ = Description::parse("description", &text);
    }

    #[test]
    fn derived_ids_are_stable_and_distinct(a in any::<String>(), b in any::<String>()) {
        prop_assert_eq!(EntityId::derived_from(&a), EntityId::derived_from(&a));
        if a != b {
            prop_assert_ne!(EntityId::derived_from(&a), EntityId::derived_from(&b));
        }
    }
}

#[test]
fn empty_and_blank_names_are_refused_with_the_field_named() {
    for blank in ["", " ", "\t\n", "\u{3000}"] {
        let err = ProductName::parse("name", blank).expect_err("empty");
        assert_eq!(err.field, "name");
        assert!(err.message.contains("1 to 100") && err.message.contains("got 0"), "{err}");
        let err = CategoryName::parse("name", blank).expect_err("empty");
        assert!(err.message.contains("1 to 50"), "{err}");
        assert!(Reason::parse("reason", blank).is_err());
    }
    assert_eq!(Description::parse("description", " ").expect("may be empty").as_str(), "");
}

#[test]
fn the_limits_are_exact() {
    assert!(ProductName::parse("name", &"x".repeat(100)).is_ok());
    assert!(ProductName::parse("name", &"x".repeat(101)).is_err());
    assert!(CategoryName::parse("name", &"x".repeat(50)).is_ok());
    assert!(CategoryName::parse("name", &"x".repeat(51)).is_err());
    // 50 scalar values of 4 bytes each: 200 bytes, still 50 characters.
    assert!(CategoryName::parse("name", &"😀".repeat(50)).is_ok());
    assert!(CategoryName::parse("name", &"😀".repeat(51)).is_err());
    assert!(Description::parse("description", &"x".repeat(2000)).is_ok());
    assert!(Description::parse("description", &"x".repeat(2001)).is_err());
    // A combining sequence counts each scalar value: "é" as e + U+0301 is two.
    assert!(CategoryName::parse("name", &"e\u{301}".repeat(25)).is_ok());
    assert!(CategoryName::parse("name", &format!("{}e", "e\u{301}".repeat(25))).is_err());
}

#[test]
fn the_error_message_says_what_to_do() {
    let err = ProductName::parse("name", &"x".repeat(101)).expect_err("too long");
    assert_eq!(err.to_string(), "name: must be 1 to 100 characters after trimming (got 101)");
    let err = Money::yen("price", -1).expect_err("negative");
    assert_eq!(err.to_string(), "price: must be a whole number of yen, 0 or more (got -1)");
    let err = Quantity::parse("quantity", 0).expect_err("zero");
    assert_eq!(err.to_string(), "quantity: must be a whole number from 1 to 1000000 (got 0)");
    assert_eq!(err.within("lines[2]").field, "lines[2].quantity");
}

#[test]
fn malformed_ids_are_refused_with_the_field_named() {
    for bad in [
        "",
        "not-a-uuid",
        "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8",
        "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8bb",
        "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8g",
        "0192f0c17a5e7d2c9b1e3c4d5e6f7a8b",
        "{0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b}",
        "urn:uuid:0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b",
        "0192f0c1_7a5e_7d2c_9b1e_3c4d5e6f7a8b",
        "０192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b",
    ] {
        let err = EntityId::parse("categoryId", bad).expect_err(bad);
        assert_eq!(err.field, "categoryId", "{bad}");
        assert!(err.message.contains("must be a UUID"), "{err}");
    }
    let id = EntityId::parse("id", " 0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b\n").expect("trimmed");
    assert_eq!(id.to_string(), "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b");
}

#[test]
fn a_huge_malformed_id_is_not_echoed_whole() {
    let err = EntityId::parse("id", &"x".repeat(1_000_000)).expect_err("malformed");
    assert!(err.message.len() < 200, "{}", err.message.len());
}

#[test]
fn new_ids_are_version_7_and_sort_by_creation() {
    let first = EntityId::new();
    let second = EntityId::new();
    assert_eq!(first.as_uuid().get_version_num(), 7);
    assert!(first < second);
    assert_eq!(first.as_bytes(), first.as_uuid().as_bytes());
}

#[test]
fn derived_ids_do_not_change_between_releases() {
    // Stored aggregates were created under these ids: the derivation is part of the data format.
    // The expected value is RFC 4122 UUIDv5 of the key in the Nagare namespace, as computed by
    // any other implementation (e.g. Python's uuid.uuid5).
    let id = EntityId::derived_from("order-2024-0001");
    assert_eq!(id.as_uuid().get_version_num(), 5);
    assert_eq!(id.to_string(), "c9b5fad7-e77d-5a49-9739-5c7ab6e4619a");
}

#[test]
fn deserialising_validates_like_parsing() {
    assert_eq!(
        serde_json::from_str::<Money>("1980").expect("valid"),
        Money::yen("p", 1980).expect("valid")
    );
    assert!(serde_json::from_str::<Money>("-1").is_err());
    assert!(serde_json::from_str::<Quantity>("0").is_err());
    assert!(serde_json::from_str::<StockLevel>("-1").is_err());
    assert!(serde_json::from_str::<ProductName>("\"\"").is_err());
    let long = format!("\"{}\"", "x".repeat(51));
    let err = serde_json::from_str::<CategoryName>(&long).expect_err("too long");
    assert!(err.to_string().contains("name: must be 1 to 50"), "{err}");
    let name: ProductName = serde_json::from_str("\" 抹茶 \"").expect("valid");
    assert_eq!(name.as_str(), "抹茶");
    // Serialising is unchanged: the bare value.
    assert_eq!(serde_json::to_string(&name).expect("json"), "\"抹茶\"");
    assert_eq!(serde_json::to_string(&Quantity::parse("q", 3).expect("valid")).expect("json"), "3");
}
