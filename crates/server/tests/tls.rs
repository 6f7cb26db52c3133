//! TLS built in: a generated certificate, HTTPS with HSTS, a changed certificate taken without a
//! restart, and a broken one refused (the old one kept).
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn certificate(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("certificate");
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert.cert.pem()).expect("write");
    std::fs::write(&k, cert.signing_key.serialize_pem()).expect("write");
    (c, k)
}

fn client(ca: &std::path::Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).expect("pem") {
        roots.add(c.expect("cert")).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A TLS handshake with what `tls` serves now, trusting `ca` for `name`.
async fn handshake(
    tls: &hanpyo_server::tls::Tls,
    ca: &std::path::Path,
    name: &'static str,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = tls.acceptor();
    let accepted = tokio::spawn(async move {
        let (s, _) = listener.accept().await?;
        acceptor.accept(s).await.map(|_| ())
    });
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name).map_err(std::io::Error::other)?;
    client(ca).connect(name, tcp).await?;
    let _ = accepted.await;
    Ok(())
}

#[test]
fn https_with_hsts_and_a_certificate_reloaded_without_a_restart() {
    let dir = std::env::temp_dir().join(format!("hanpyo-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data");
    hanpyo_server::accounts::Accounts::open(&data, &hanpyo_server::database::Database::Embedded)
        .expect("accounts")
        .create_user(
            "chair",
            hanpyo_server::accounts::Role::Administrator,
            &hanpyo_server::accounts::Scope::Platform,
            "a long enough password",
        )
        .expect("user");
    let (cert, key) = certificate(&dir, "localhost");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut options = hanpyo_server::Options::defaults();
        options.tls = Some(hanpyo_server::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn({
            let data = data.clone();
            async move {
                hanpyo_server::serve(&data, listener, options, async {
                    let _ = stopped.await;
                })
                .await
            }
        });
        let get = |ca: std::path::PathBuf| async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let mut tls = client(&ca)
                .connect(ServerName::try_from("localhost").expect("name"), tcp)
                .await?;
            tls.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
                .await?;
            let mut answer = String::new();
            tls.read_to_string(&mut answer).await?;
            Ok::<String, std::io::Error>(answer)
        };
        let answer = get(cert.clone()).await.expect("https");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("strict-transport-security: max-age=31536000"),
            "{answer}"
        );
        // Plain HTTP to the TLS port gets no answer.
        let mut plain = tokio::net::TcpStream::connect(addr).await.expect("connect");
        plain
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("write");
        let mut buf = Vec::new();
        let _ = plain.read_to_end(&mut buf).await;
        assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
        let _ = stop.send(());
        server.await.expect("join").expect("served");
    });
    // A renewed certificate is taken on the next check; a broken one is refused, the old one kept.
    let tls = hanpyo_server::tls::Tls::open(hanpyo_server::tls::TlsFiles {
        cert: cert.clone(),
        key: key.clone(),
    })
    .expect("tls");
    let (new_cert, new_key) = certificate(&dir, "renewed");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::copy(&new_cert, &cert).expect("copy");
    std::fs::copy(&new_key, &key).expect("copy");
    tls.reload_if_changed();
    // The renewed certificate (for "renewed") is now the one served.
    let r = rt.block_on(handshake(&tls, &new_cert, "renewed"));
    assert!(
        r.is_ok(),
        "the renewed certificate is served: {:?}",
        r.err()
    );
    std::fs::write(&cert, "not a certificate").expect("write");
    tls.reload_if_changed(); // refused and logged: the renewed one stays
    let r = rt.block_on(handshake(&tls, &new_cert, "renewed"));
    assert!(r.is_ok(), "still served after a broken file: {:?}", r.err());
    assert!(
        hanpyo_server::tls::Tls::open(hanpyo_server::tls::TlsFiles {
            cert: cert.clone(),
            key
        })
        .is_err(),
        "a broken certificate is refused at start, with the reason"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
