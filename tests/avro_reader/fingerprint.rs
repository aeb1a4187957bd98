//! CRC-64-AVRO, the 64-bit Rabin fingerprint of the Avro specification
//! (<https://avro.apache.org/docs/1.11.1/specification/#schema-fingerprints>), transcribed from
//! its reference implementation.

/// The fingerprint of the empty string, and the polynomial.
const EMPTY: u64 = 0xc15d_213a_a4d7_a795;

/// The fingerprint of `bytes`, e.g. a schema's canonical form.
pub(crate) fn fingerprint64(bytes: &[u8]) -> u64 {
    let table = table();
    bytes
        .iter()
        .fold(EMPTY, |fp, byte| (fp >> 8) ^ table[((fp ^ u64::from(*byte)) & 0xff) as usize])
}

fn table() -> [u64; 256] {
    let mut table = [0u64; 256];
    for (index, entry) in table.iter_mut().enumerate() {
        let mut fp = index as u64;
        for _ in 0..8 {
            fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
        }
        *entry = fp;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's test vectors (share/test/data/schema-tests.txt in the Avro sources),
    /// written there as signed 64-bit integers.
    #[test]
    fn matches_the_specification_vectors() {
        let vectors: [(&str, i64); 4] = [
            (r#""null""#, 7195948357588979594),
            (r#""boolean""#, -6970731678124411036),
            (r#"{"name":"foo","type":"fixed","size":15}"#, 1756455273707447556),
            (
                r#"{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}"#,
                -1759257747318642341,
            ),
        ];
        for (schema, expected) in vectors {
            assert_eq!(fingerprint64(schema.as_bytes()) as i64, expected, "{schema}");
        }
    }
}
