//! The README's main command runs a whole election and its result equals the simulated intent.
use std::process::Command;

#[test]
fn crypto_demo_decrypts_the_intended_tally() {
    let out = Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args([
            "crypto-demo",
            "--voters",
            "60",
            "--choices",
            "3",
            "--trustees",
            "5",
            "--threshold",
            "3",
        ])
        .args(["--seed", "7"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("result matches the simulated intent"),
        "{stdout}"
    );
    assert!(stdout.contains("trustees [3, 4, 5]"), "{stdout}");
    assert!(
        stderr.contains("Never use it for a real election"),
        "--seed must warn: {stderr}"
    );
}

#[test]
fn bad_parameters_are_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args(["crypto-demo", "--trustees", "2", "--threshold", "3"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("threshold"));
}
