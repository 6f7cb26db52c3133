//! RFC 9162 / Certificate Transparency reference vectors, and properties of proofs on many shapes.
use hanpyo_ledger::merkle::{
    Frontier, Hash, consistency_proof, empty_root, inclusion_proof, leaf_hash, root_of,
    verify_consistency, verify_inclusion,
};

const ENTRIES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(s: &str) -> Hash {
    hex::decode(s).expect("hex").try_into().expect("32 bytes")
}

fn leaves() -> Vec<Hash> {
    ENTRIES
        .iter()
        .map(|e| leaf_hash(&hex::decode(e).expect("hex")))
        .collect()
}

#[test]
fn roots_match_the_reference_for_every_size() {
    assert_eq!(
        hex::encode(empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let l = leaves();
    let mut f = Frontier::new();
    assert_eq!(f.root(), empty_root());
    for n in 1..=8 {
        f.push(l[n - 1]);
        assert_eq!(hex::encode(root_of(&l[..n])), ROOTS[n - 1], "size {n}");
        assert_eq!(f.root(), root_of(&l[..n]), "frontier at size {n}");
        assert_eq!(f.size(), n as u64);
    }
}

#[test]
fn inclusion_proofs_match_the_reference() {
    let l = leaves();
    let root = h(ROOTS[7]);
    let cases: [(usize, [&str; 3]); 2] = [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, expected) in cases {
        let proof = inclusion_proof(&l, index).expect("in range");
        assert_eq!(proof, expected.map(h).to_vec());
        assert!(verify_inclusion(&l[index], index as u64, 8, &proof, &root));
    }
}

#[test]
fn consistency_proofs_match_the_reference() {
    let l = leaves();
    let cases: Vec<(usize, usize, Vec<&str>)> = vec![
        (
            2,
            8,
            vec![
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            vec![
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            vec![
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (m, n, expected) in cases {
        let proof = consistency_proof(&l[..n], m).expect("valid sizes");
        assert_eq!(
            proof,
            expected.iter().map(|s| h(s)).collect::<Vec<_>>(),
            "{m}→{n}"
        );
        assert!(verify_consistency(
            m as u64,
            n as u64,
            &h(ROOTS[m - 1]),
            &h(ROOTS[n - 1]),
            &proof
        ));
    }
}

#[test]
fn every_proof_verifies_on_every_shape_and_any_tampering_fails() {
    let many: Vec<Hash> = (0..37u8)
        .map(|i| leaf_hash(&[i, i.wrapping_mul(7)]))
        .collect();
    for n in 1..=many.len() {
        let tree = &many[..n];
        let root = root_of(tree);
        for i in 0..n {
            let p = inclusion_proof(tree, i).expect("in range");
            assert!(verify_inclusion(&tree[i], i as u64, n as u64, &p, &root));
            // The size is authenticated by the signed checkpoint with the root, not by the path
            // (e.g. [h1, h2] proves leaf 0 under the size-3 root for "size 4" too); a path checked
            // against another size's root fails.
            let longer: Vec<Hash> = tree.iter().copied().chain([leaf_hash(b"x")]).collect();
            assert!(!verify_inclusion(
                &tree[i],
                i as u64,
                n as u64 + 1,
                &p,
                &root_of(&longer)
            ));
            assert!(!verify_inclusion(
                &tree[i],
                i as u64,
                n as u64 * 2 + 1,
                &p,
                &root
            ));
            if n > 1 {
                assert!(!verify_inclusion(
                    &tree[i],
                    ((i + 1) % n) as u64,
                    n as u64,
                    &p,
                    &root
                ));
                assert!(!verify_inclusion(
                    &tree[(i + 1) % n],
                    i as u64,
                    n as u64,
                    &p,
                    &root
                ));
                let mut bad = p.clone();
                bad[0][0] ^= 1;
                assert!(!verify_inclusion(&tree[i], i as u64, n as u64, &bad, &root));
                assert!(!verify_inclusion(
                    &tree[i],
                    i as u64,
                    n as u64,
                    &p[..p.len() - 1],
                    &root
                ));
            }
        }
        for m in 1..=n {
            let p = consistency_proof(tree, m).expect("sizes");
            let old = root_of(&tree[..m]);
            assert!(
                verify_consistency(m as u64, n as u64, &old, &root, &p),
                "{m}→{n}"
            );
            if m < n {
                // A forked history (one old leaf changed) is not consistent.
                let mut forked = tree[..m].to_vec();
                forked[m - 1][0] ^= 1;
                assert!(!verify_consistency(
                    m as u64,
                    n as u64,
                    &root_of(&forked),
                    &root,
                    &p
                ));
                let mut bad = p.clone();
                let last = bad.len() - 1;
                bad[last][5] ^= 1;
                assert!(!verify_consistency(m as u64, n as u64, &old, &root, &bad));
                assert!(!verify_consistency(n as u64, m as u64, &root, &old, &p));
            }
        }
    }
}

/// Cross-check against an independent implementation (the `ct-merkle` crate): roots, inclusion
/// proofs and consistency proofs, byte for byte, on every tree size up to 70.
#[test]
fn agrees_with_an_independent_implementation() {
    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    let mut theirs = MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
    let mut ours: Vec<Hash> = Vec::new();
    for i in 0..70u32 {
        let entry = format!("entry {i}").into_bytes();
        theirs.push(entry.clone());
        ours.push(leaf_hash(&entry));
        let n = ours.len();
        assert_eq!(
            theirs.root().as_bytes().as_slice(),
            &root_of(&ours)[..],
            "root of {n}"
        );
        for idx in 0..n {
            let mine: Vec<u8> = inclusion_proof(&ours, idx).expect("in range").concat();
            assert_eq!(
                theirs.prove_inclusion(idx).as_bytes(),
                &mine[..],
                "inclusion {idx}/{n}"
            );
        }
        for m in 1..n {
            let mine: Vec<u8> = consistency_proof(&ours, m).expect("sizes").concat();
            assert_eq!(
                theirs.prove_consistency(n - m).as_bytes(),
                &mine[..],
                "consistency {m}→{n}"
            );
        }
    }
}
