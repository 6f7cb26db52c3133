//! Known-answer tests: the transcript bytes exactly as `docs/protocol.md` documents them, and one
//! proof of each kind from a fixed-seed generator. A change to any transcript or encoding breaks
//! these on purpose (bump `PROTOCOL_VERSION` and the vectors together).
mod common;
use common::rng;
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::scalar::Scalar;
use hanpyo_crypto::ballot::{ContestSpec, EncryptedContest};
use hanpyo_crypto::credential::SecretCredential;
use hanpyo_crypto::elgamal::SecretKey;
use hanpyo_crypto::group::Element;
use hanpyo_crypto::proofs::chaum_pedersen::{ChaumPedersenProof, DleqStatement};
use hanpyo_crypto::proofs::labels;
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_crypto::threshold::KeyShare;
use hanpyo_crypto::transcript::{ProofContext, Transcript};
use sha2::{Digest, Sha256, Sha512};

fn fixed_ctx() -> ProofContext {
    let mut fp = [0u8; 32];
    for (i, b) in fp.iter_mut().enumerate() {
        *b = i as u8;
    }
    ProofContext::new(fp).bound_to([0xab; 32]).at(2, 5)
}

fn mul_g(k: u64) -> Element {
    Element::from_point(RISTRETTO_BASEPOINT_POINT * Scalar::from(k))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn transcript_bytes_are_exactly_as_documented() {
    let ctx = fixed_ctx();
    let (p, q) = (mul_g(2), mul_g(3));
    let mut t = Transcript::new("selection", &ctx);
    t.point(&p).u64(7).bytes(b"hi").point(&q);
    let got = t.challenge();

    // Built by hand from docs/protocol.md §2.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"hanpyo-fs-v");
    bytes.push(1);
    bytes.push(9);
    bytes.extend_from_slice(b"selection");
    bytes.extend_from_slice(&ctx.fingerprint);
    bytes.extend_from_slice(&[0xab; 32]);
    bytes.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 5]);
    bytes.push(b'P');
    bytes.extend_from_slice(p.as_bytes());
    bytes.push(b'U');
    bytes.extend_from_slice(&7u64.to_be_bytes());
    bytes.push(b'B');
    bytes.extend_from_slice(&[0, 0, 0, 2]);
    bytes.extend_from_slice(b"hi");
    bytes.push(b'P');
    bytes.extend_from_slice(q.as_bytes());
    let digest: [u8; 64] = Sha512::digest(&bytes).into();
    assert_eq!(got, Scalar::from_bytes_mod_order_wide(&digest));
    assert_eq!(
        hex::encode(got.as_bytes()),
        "4de167a339b4024a8c80759d85a4d4fadac5685ce72f40f10df18b284762e50f"
    );
}

#[test]
fn one_proof_of_each_kind() {
    let ctx = fixed_ctx();
    let mut r = rng(99);
    let x = Scalar::from(0x1234_5678_9abc_def0u64);
    let schnorr = SchnorrProof::prove_with_rng(
        labels::SCHNORR,
        &ctx,
        &x,
        &mul_g(0x1234_5678_9abc_def0),
        b"",
        &mut r,
    );
    assert_eq!(
        hex::encode(schnorr.to_bytes()),
        "3056875c438fe78aba0d675375a12d5b25d0a1e9157df798fe0e9dab4004e0433465ed0143d812656cb111b274303ee4c6a7a42638b4f6a97af758a5280d5809"
    );

    let st = DleqStatement {
        g1: Element::generator(),
        x1: Element::from_point(RISTRETTO_BASEPOINT_POINT * x),
        g2: mul_g(5),
        x2: Element::from_point(RISTRETTO_BASEPOINT_POINT * (x * Scalar::from(5u8))),
    };
    let cp = ChaumPedersenProof::prove_with_rng(labels::CHAUM_PEDERSEN, &ctx, &st, &x, &mut r);
    assert_eq!(
        sha256_hex(&cp.to_bytes()),
        "137871883b2673c83cd685afe11269dedbfc9370b84f38c5673e22eafa4c7a98"
    );

    let pk = SecretKey::from_scalar(Scalar::from(42u8)).public_key();
    let spec = ContestSpec::selection(2, 3, 1, 2);
    let (contest, _) =
        EncryptedContest::encrypt_with_rng(&ctx, &pk, &spec, &[1, 0, 1], &mut r).expect("ok");
    assert_eq!(
        sha256_hex(&contest.to_bytes()),
        "ffcf19130676185103a71979436e8bc70cd960626031efd226d3da5605839445"
    );

    let share = KeyShare::from_parts(3, Scalar::from(77u8));
    let y = mul_g(77);
    let pd = share.partial_decrypt_with_rng(&ctx, &y, &contest.selections[0].ciphertext, &mut r);
    assert_eq!(
        sha256_hex(&pd.proof.to_bytes()),
        "2d027f38a7c4f9a49abfd8e17b16895d7c2231c6fd04e370cfa43b360ab024f9"
    );

    let cred = SecretCredential::parse("00000-00000-00000-00000-00012").expect("valid code");
    let key = cred.signing_key(b"kat-election");
    assert_eq!(
        hex::encode(key.public().as_bytes()),
        "1cfb69b4ad05094eaffd1b104d1d50d2a17db85dde66cfd22acafeba5a56fc11"
    );
    let sig = key.sign_with_rng(&ctx, b"ballot", &mut r);
    assert_eq!(
        sha256_hex(&sig.to_bytes()),
        "0250b4039a775c6f0bda7a40eeea38299245b33f95a790227bde47f4ef6ddc13"
    );
}
