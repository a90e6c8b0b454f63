//! The public keys a Supabase project signs with, from its JWKS
//! (`<SUPABASE_URL>/auth/v1/.well-known/jwks.json`), picked by a token's `kid`.
//!
//! Only ES256 (P-256) and RS256 signing keys are taken; anything else in the set (other
//! curves, encryption keys, symmetric keys) is skipped, so a JWKS can never smuggle in a
//! key for an algorithm Hero did not choose.

use jwt_compact::alg::{Es256, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::Algorithm;
use serde::Deserialize;

/// The ES256 verifying key type (p256's), as jwt-compact names it.
pub type Es256Key = <Es256 as Algorithm>::VerifyingKey;

/// One usable public key.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Es256(Box<Es256Key>),
    Rs256(Box<RsaPublicKey>),
}

impl PublicKey {
    /// The `alg` a token signed with this key must name.
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Es256(_) => "ES256",
            PublicKey::Rs256(_) => "RS256",
        }
    }
}

/// The usable keys of one JWKS, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<(String, PublicKey)>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

/// The JWK members jwt-compact leaves to the caller.
#[derive(Deserialize)]
struct KeyMeta {
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
}

fn parse_key(raw: &serde_json::Value) -> Option<(String, PublicKey)> {
    let meta: KeyMeta = serde_json::from_value(raw.clone()).ok()?;
    let kid = meta.kid.filter(|kid| !kid.is_empty())?;
    if meta.key_use.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let jwk: JsonWebKey<'_> = serde_json::from_value(raw.clone()).ok()?;
    let key = match (&jwk, meta.alg.as_deref()) {
        (JsonWebKey::EllipticCurve { .. }, None | Some("ES256")) => {
            PublicKey::Es256(Box::new(Es256Key::try_from(&jwk).ok()?))
        }
        (JsonWebKey::Rsa { .. }, None | Some("RS256")) => {
            PublicKey::Rs256(Box::new(RsaPublicKey::try_from(&jwk).ok()?))
        }
        _ => return None,
    };
    Some((kid, key))
}

impl KeySet {
    /// Reads a JWKS document; keys Hero cannot use are skipped. An error only when the
    /// document is not a JWKS at all.
    pub fn from_jwks(text: &str) -> Result<KeySet, String> {
        let raw: RawSet =
            serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
        Ok(KeySet {
            keys: raw.keys.iter().filter_map(parse_key).collect(),
        })
    }

    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys
            .iter()
            .find(|(id, _)| id == kid)
            .map(|(_, key)| key)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
