//! Key layouts of the store's trees. Variable-length parts are length-prefixed (u16, big
//! endian) so that one prefix never runs into the next; ids and sequences are big endian so
//! that keys sort by them.
use ulid::Ulid;

/// Appends a length-prefixed part. Parts are ids validated to at most 128 characters (512
/// bytes) or list ids, so the length always fits; a longer one is cut rather than wrapped.
pub fn push_part(key: &mut Vec<u8>, part: &str) {
    let bytes = part.as_bytes();
    let len = bytes.len().min(usize::from(u16::MAX));
    key.extend_from_slice(&(len as u16).to_be_bytes());
    key.extend_from_slice(&bytes[..len]);
}

pub fn parts(parts: &[&str]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 2).sum::<usize>() + 16);
    for p in parts {
        push_part(&mut key, p);
    }
    key
}

pub fn with_ulid(mut prefix: Vec<u8>, id: Ulid) -> Vec<u8> {
    prefix.extend_from_slice(&id.to_bytes());
    prefix
}

pub fn with_sequence(mut prefix: Vec<u8>, sequence: u64) -> Vec<u8> {
    prefix.extend_from_slice(&sequence.to_be_bytes());
    prefix
}

pub fn sequence(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The sequence at the end of a key (or a whole value of 8 bytes).
pub fn trailing_sequence(key: &[u8]) -> Option<u64> {
    let start = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[start..].try_into().ok()?))
}

/// The ULID at the end of an index key.
pub fn trailing_ulid(key: &[u8]) -> Option<Ulid> {
    let start = key.len().checked_sub(16)?;
    Some(Ulid::from_bytes(key[start..].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_keep_one_id_from_being_a_prefix_of_another() {
        let ab = parts(&["ab"]);
        let abc = parts(&["abc"]);
        assert!(!abc.starts_with(&ab));
        assert_ne!(parts(&["a", "bc"]), parts(&["ab", "c"]));
    }

    #[test]
    fn trailing_ids_round_trip() {
        let id = Ulid::from_parts(1_700_000_000_000, 42);
        assert_eq!(trailing_ulid(&with_ulid(parts(&["x"]), id)), Some(id));
        assert_eq!(trailing_sequence(&with_sequence(parts(&["x"]), 9)), Some(9));
        assert_eq!(trailing_sequence(b"short"), None);
    }
}
