//! One value, one encoding: every entry of a real record re-encodes to exactly its bytes, and any
//! mutation of those bytes either fails to decode or decodes to a value whose encoding is the
//! mutated bytes (never to the same value with different bytes). Random input never panics.
use std::path::Path;

use hanpyo_ledger::export::ExportReader;
use hanpyo_record::entry::{Entry, Shapes};
use proptest::prelude::*;

fn vector_entries() -> &'static [Vec<u8>] {
    static ENTRIES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(read_vector_entries)
}

fn read_vector_entries() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/small/record");
    let mut r = ExportReader::open(&dir).expect("test vectors");
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().expect("frame") {
        out.push(f.bytes);
    }
    out
}

fn shapes(entries: &[Vec<u8>]) -> Shapes {
    match Entry::decode(&entries[0], None).expect("manifest") {
        Entry::Manifest(m) => Shapes::of(&m),
        _ => panic!("manifest first"),
    }
}

#[test]
fn every_entry_re_encodes_to_its_bytes() {
    let es = vector_entries();
    let sh = shapes(es);
    for (i, e) in es.iter().enumerate() {
        let decoded = Entry::decode(e, Some(&sh)).unwrap_or_else(|err| panic!("entry {i}: {err}"));
        assert_eq!(&decoded.encode(), e, "entry {i} ({:?})", decoded.kind());
    }
}

#[test]
fn truncations_and_extensions_are_refused() {
    let es = vector_entries();
    let sh = shapes(es);
    for e in es {
        for cut in [1, 2, 31, 32, 33] {
            if cut < e.len() {
                assert!(Entry::decode(&e[..e.len() - cut], Some(&sh)).is_err());
            }
        }
        let mut longer = e.clone();
        longer.push(0);
        assert!(Entry::decode(&longer, Some(&sh)).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_mutated_entry_never_decodes_to_a_second_encoding(pick in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let es = vector_entries();
        let sh = shapes(es);
        let e = &es[pick.index(es.len())];
        let mut m = e.clone();
        let at = pos.index(m.len());
        m[at] = byte;
        if let Ok(d) = Entry::decode(&m, Some(&sh)) {
            prop_assert_eq!(d.encode(), m);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), kind in 1u8..=14) {
        let es = vector_entries();
        let sh = shapes(es);
        let mut input = vec![hanpyo_record::entry::FORMAT_VERSION, kind];
        input.extend_from_slice(&bytes);
        let _ = Entry::decode(&input, Some(&sh));
        let _ = Entry::decode(&bytes, None);
    }
}
