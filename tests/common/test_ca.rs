//! A test certificate authority made with rcgen: its certificate, and server
//! certificates it signs for loopback names. Needs `rcgen` as a dev-dependency;
//! include it with `#[path = ".../tests/common/test_ca.rs"] mod test_ca;` at the
//! test crate's root.

#![allow(dead_code, unreachable_pub)]

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// A CA of its own, made anew for each test.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    /// Its certificate (PEM), for a client's roots.
    pub pem: String,
}

/// A certificate the CA signed and its key, both PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key).unwrap().pem();
        Self { params, key, pem }
    }

    /// A server certificate for `names` (`127.0.0.1`, `localhost`).
    pub fn issue(&self, names: &[&str]) -> Issued {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
