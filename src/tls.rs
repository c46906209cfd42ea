//! The process's TLS crypto provider. reqwest (JWKS fetches, the OTLP exporter) is built
//! with rustls but without a provider of its own, and building a client before one is
//! installed panics. The provider is ring: it builds with a C compiler alone, where
//! rustls' default (aws-lc-rs) needs cmake.

/// Installs ring as the process's provider; idempotent.
pub fn install_provider() {
    // an error means a provider is installed already
    let _ = rustls::crypto::ring::default_provider().install_default();
}
