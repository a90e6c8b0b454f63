//! Verification of bearer tokens: the signature, the time claims, who issued it and for
//! whom.
//!
//! The rules:
//! - `HS256` with `JWT_SECRET` (legacy Supabase projects, and development), and, when
//!   `SUPABASE_URL` is set, `ES256` and `RS256` with the project's JWKS key named by the
//!   token's `kid`. A token's `alg` must match its key's; anything else (`none`, `HS384`,
//!   an `HS256` token "signed" with a public key) is refused;
//! - `exp` is required; `exp`, `nbf` and `iat` are checked with a small leeway
//!   (`JWT_LEEWAY_SECS`, 30 s by default) for clock skew, and a token may not live longer
//!   than `JWT_MAX_TTL_SECS` (24 h by default) from `iat`;
//! - `aud` must contain `JWT_AUDIENCE` (`authenticated`);
//! - with `SUPABASE_URL` set, `iss` must be `<SUPABASE_URL>/auth/v1`;
//! - development tokens (`iss` = [`DEV_ISSUER`]) are accepted only while the dev sign-in is
//!   enabled (see [`super::dev_login_enabled`]).

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Es256, Hs256, Hs256Key, Rsa};
use jwt_compact::{AlgorithmExt, Claims, TimeOptions, UntrustedToken, ValidationError};

use super::claims::{principal_from, SupabaseClaims};
use super::keys::{KeySet, PublicKey};
use super::{AuthError, Principal};

/// The issuer of development tokens (`make token`, the UI's dev sign-in).
pub const DEV_ISSUER: &str = "hero-dev";

/// Whether a token says it is signed with a key from a JWKS (ES256 or RS256), so that a
/// verifier knows to have the keys at hand before it asks.
pub fn is_asymmetric(token: &str) -> bool {
    UntrustedToken::new(token).is_ok_and(|t| matches!(t.algorithm(), "ES256" | "RS256"))
}

/// What a token must satisfy beyond its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRules {
    pub leeway: Duration,
    pub max_ttl: Duration,
    /// `aud` must contain this.
    pub audience: String,
    /// `iss` must be this (set with `SUPABASE_URL`).
    pub issuer: Option<String>,
    /// Whether development tokens are accepted for this request.
    pub dev_tokens: bool,
}

impl TokenRules {
    /// The rules with their defaults, for tests and tools.
    pub fn lenient_for_tests() -> Self {
        TokenRules {
            leeway: Duration::seconds(30),
            max_ttl: Duration::hours(24),
            audience: "authenticated".into(),
            issuer: None,
            dev_tokens: true,
        }
    }
}

/// Verifies bearer tokens against the configured keys.
pub struct Verifier<'a> {
    hs256: Option<Hs256Key>,
    keys: Option<&'a KeySet>,
    rules: &'a TokenRules,
}

fn signature_error(error: ValidationError, alg: &str) -> AuthError {
    match error {
        ValidationError::AlgorithmMismatch { .. } => {
            AuthError::Invalid("the token's algorithm does not match its key")
        }
        ValidationError::InvalidSignature
        | ValidationError::InvalidSignatureLen { .. }
        | ValidationError::MalformedSignature(_) => {
            AuthError::Invalid("the token signature does not verify")
        }
        _ if alg.is_empty() => AuthError::Invalid("the token claims could not be read"),
        _ => AuthError::Invalid("the token claims could not be read"),
    }
}

impl<'a> Verifier<'a> {
    /// `secret`: the HS256 key, if HS256 is accepted; `keys`: the project's JWKS, if
    /// `SUPABASE_URL` is set (an empty set until it has been fetched).
    pub fn new(secret: Option<&[u8]>, keys: Option<&'a KeySet>, rules: &'a TokenRules) -> Self {
        Verifier {
            hs256: secret.map(Hs256Key::new),
            keys,
            rules,
        }
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Principal, AuthError> {
        let untrusted = UntrustedToken::new(token)
            .map_err(|_| AuthError::Invalid("the token is not a well-formed JWT"))?;
        let alg = untrusted.algorithm().to_owned();
        let claims = match alg.as_str() {
            "HS256" => {
                let key = self.hs256.as_ref().ok_or(AuthError::Invalid(
                    "HS256 tokens are not accepted here (no JWT_SECRET)",
                ))?;
                Hs256
                    .validator::<SupabaseClaims>(key)
                    .validate(&untrusted)
                    .map_err(|e| signature_error(e, &alg))?
                    .claims()
                    .clone()
            }
            "ES256" | "RS256" => {
                let keys = self.keys.ok_or(AuthError::Invalid(
                    "ES256 and RS256 tokens need SUPABASE_URL to be set",
                ))?;
                let kid = untrusted
                    .header()
                    .key_id
                    .clone()
                    .ok_or(AuthError::Invalid("the token names no key (kid)"))?;
                let key = keys
                    .get(&kid)
                    .ok_or_else(|| AuthError::UnknownKey(kid.clone()))?;
                if key.algorithm() != alg {
                    return Err(AuthError::Invalid(
                        "the token's algorithm does not match its key",
                    ));
                }
                let validated = match key {
                    PublicKey::Es256(key) => Es256
                        .validator::<SupabaseClaims>(key.as_ref())
                        .validate(&untrusted),
                    PublicKey::Rs256(key) => Rsa::rs256()
                        .validator::<SupabaseClaims>(key.as_ref())
                        .validate(&untrusted),
                };
                validated
                    .map_err(|e| signature_error(e, &alg))?
                    .claims()
                    .clone()
            }
            _ => {
                return Err(AuthError::Invalid(
                    "the token must be signed with HS256, ES256 or RS256",
                ))
            }
        };
        self.check_claims(&claims, &alg, now)?;
        let expires_at = claims.expiration.map_or(0, |exp| exp.timestamp());
        principal_from(claims.custom, expires_at)
    }

    fn check_claims(
        &self,
        claims: &Claims<SupabaseClaims>,
        alg: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let rules = self.rules;
        let time = TimeOptions::new(rules.leeway, move || now);
        claims
            .validate_expiration(&time)
            .map_err(|error| match error {
                ValidationError::NoClaim(_) => AuthError::Invalid("the token has no exp claim"),
                _ => AuthError::Invalid("the token has expired"),
            })?;
        // `nbf` is optional (Supabase omits it); jwt-compact treats its absence as an error.
        if claims.not_before.is_some() {
            claims
                .validate_maturity(&time)
                .map_err(|_| AuthError::Invalid("the token is not valid yet"))?;
        }
        if claims.issued_at.is_some_and(|iat| iat > now + rules.leeway) {
            return Err(AuthError::Invalid("the token was issued in the future"));
        }
        let exp = claims.expiration.unwrap_or(now);
        let born = claims.issued_at.unwrap_or(now);
        if exp - born > rules.max_ttl {
            return Err(AuthError::Invalid(
                "the token lives longer than this server accepts (JWT_MAX_TTL_SECS)",
            ));
        }
        let custom = &claims.custom;
        if !custom
            .aud
            .as_ref()
            .is_some_and(|aud| aud.contains(&rules.audience))
        {
            return Err(AuthError::Invalid(
                "the token is not meant for this audience",
            ));
        }
        match custom.iss.as_deref() {
            Some(DEV_ISSUER) if rules.dev_tokens && alg == "HS256" => Ok(()),
            Some(DEV_ISSUER) => Err(AuthError::Invalid(
                "development tokens are accepted only by a local dev server",
            )),
            iss => match &rules.issuer {
                Some(wanted) if iss != Some(wanted.as_str()) => {
                    Err(AuthError::Invalid("the token comes from another issuer"))
                }
                _ => Ok(()),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::dev::{sign_dev_token, DevTokenRequest};
    use crate::auth::Role;
    use jwt_compact::alg::RsaPrivateKey;
    use jwt_compact::jwk::JsonWebKey;
    use jwt_compact::{Algorithm, AlgorithmSignature};
    use serde_json::{json, Value};

    pub const SECRET: &[u8] = b"unit-test-secret-unit-test-secret";
    const ISSUER: &str = "https://project.supabase.co/auth/v1";

    pub fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn rules() -> TokenRules {
        TokenRules::lenient_for_tests()
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Signs arbitrary header and claims JSON, to build tokens jwt-compact would not.
    pub fn raw_token<A: Algorithm>(
        alg: &A,
        key: &A::SigningKey,
        header: Value,
        claims: Value,
    ) -> String {
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = alg.sign(key, signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&signature.as_bytes()))
    }

    pub fn claims(extra: Value) -> Value {
        let mut base = json!({
            "sub": "user-1",
            "aud": "authenticated",
            "exp": now().timestamp() + 3600,
            "iat": now().timestamp(),
            "app_metadata": {"workspace_id": "ws-1"}
        });
        for (key, value) in extra.as_object().unwrap() {
            base[key] = value.clone();
        }
        base
    }

    fn hs256(extra: Value) -> String {
        raw_token(
            &Hs256,
            &Hs256Key::new(SECRET),
            json!({"alg": "HS256", "typ": "JWT"}),
            claims(extra),
        )
    }

    pub fn es256_key(seed: u8) -> <Es256 as Algorithm>::SigningKey {
        <Es256 as Algorithm>::SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    pub fn rsa_key(name: &str) -> RsaPrivateKey {
        let text = match name {
            "a" => include_str!("../../../testkit/keys/rsa-a.private.jwk.json"),
            _ => include_str!("../../../testkit/keys/rsa-b.private.jwk.json"),
        };
        let jwk: JsonWebKey<'_> = serde_json::from_str(text).unwrap();
        RsaPrivateKey::try_from(&jwk).unwrap()
    }

    /// A JWKS holding the public halves, with the given kids.
    fn jwks(ec: &[(&str, u8)], rsa: &[(&str, &str)]) -> KeySet {
        let mut keys = Vec::new();
        for (kid, seed) in ec {
            let key = es256_key(*seed);
            let mut jwk = serde_json::to_value(JsonWebKey::from(key.verifying_key())).unwrap();
            jwk["kid"] = json!(kid);
            jwk["alg"] = json!("ES256");
            jwk["use"] = json!("sig");
            keys.push(jwk);
        }
        for (kid, name) in rsa {
            let public = jwt_compact::alg::RsaPublicKey::from(&rsa_key(name));
            let mut jwk = serde_json::to_value(JsonWebKey::from(&public)).unwrap();
            jwk["kid"] = json!(kid);
            jwk["alg"] = json!("RS256");
            keys.push(jwk);
        }
        KeySet::from_jwks(&json!({ "keys": keys }).to_string()).unwrap()
    }

    fn hs_only(rules: &TokenRules) -> Verifier<'_> {
        Verifier::new(Some(SECRET), None, rules)
    }

    #[test]
    fn dev_tokens_round_trip_only_while_the_dev_sign_in_is_on() {
        let request = DevTokenRequest {
            user_id: "ana".into(),
            name: "Ana".into(),
            workspace_id: "acme".into(),
            role: Role::Admin,
            ttl: Duration::hours(1),
        };
        let token = sign_dev_token(SECRET, &request, now());
        let on = rules();
        let principal = hs_only(&on).verify(&token, now()).unwrap();
        assert_eq!(
            (principal.user_id.as_str(), principal.name.as_str()),
            ("ana", "Ana")
        );
        assert_eq!(
            (principal.workspace_id.as_str(), principal.role),
            ("acme", Role::Admin)
        );
        assert_eq!(principal.expires_at, now().timestamp() + 3600);
        let off = TokenRules {
            dev_tokens: false,
            ..rules()
        };
        assert_eq!(
            hs_only(&off).verify(&token, now()),
            Err(AuthError::Invalid(
                "development tokens are accepted only by a local dev server"
            ))
        );
    }

    #[test]
    fn supabase_layout_is_read() {
        let token = hs256(json!({
            "role": "authenticated",
            "user_metadata": {"name": "Bo", "avatar_url": "https://x.example/a.png"},
            "app_metadata": {"workspace_id": "ws-9", "role": "viewer"}
        }));
        let rules = rules();
        let principal = hs_only(&rules).verify(&token, now()).unwrap();
        assert_eq!(principal.name, "Bo");
        assert_eq!(
            principal.avatar_url.as_deref(),
            Some("https://x.example/a.png")
        );
        assert_eq!(principal.workspace_id, "ws-9");
        assert_eq!(principal.role, Role::Viewer);
    }

    #[test]
    fn top_level_workspace_and_app_role_are_accepted() {
        let token = hs256(json!({"app_metadata": {}, "workspace_id": "ws-2", "app_role": "admin"}));
        let rules = rules();
        let principal = hs_only(&rules).verify(&token, now()).unwrap();
        assert_eq!(
            (principal.workspace_id.as_str(), principal.role),
            ("ws-2", Role::Admin)
        );
    }

    #[test]
    fn role_defaults_to_member_and_unknown_roles_are_refused() {
        let rules = rules();
        let v = hs_only(&rules);
        assert_eq!(
            v.verify(&hs256(json!({})), now()).unwrap().role,
            Role::Member
        );
        assert!(matches!(
            v.verify(&hs256(json!({"app_role": "owner"})), now()),
            Err(AuthError::NotPermitted(_))
        ));
    }

    #[test]
    fn time_claims_are_enforced_with_leeway_and_a_lifetime_cap() {
        let t = now().timestamp();
        let rules = rules();
        let v = hs_only(&rules);
        assert!(
            v.verify(&hs256(json!({"exp": t - 10})), now()).is_ok(),
            "inside leeway"
        );
        assert!(v.verify(&hs256(json!({"exp": t - 31})), now()).is_err());
        assert!(v.verify(&hs256(json!({"nbf": t + 31})), now()).is_err());
        assert!(v.verify(&hs256(json!({"nbf": t + 10})), now()).is_ok());
        assert!(v.verify(&hs256(json!({"iat": t + 120})), now()).is_err());
        // the year 9999 is refused: a token may live 24 hours from its iat
        let forever = hs256(json!({"exp": 253_402_300_799_i64}));
        assert_eq!(
            v.verify(&forever, now()),
            Err(AuthError::Invalid(
                "the token lives longer than this server accepts (JWT_MAX_TTL_SECS)"
            ))
        );
        let no_iat = claims(json!({"exp": t + 90_000}));
        let mut no_iat = no_iat.as_object().unwrap().clone();
        no_iat.remove("iat");
        let token = raw_token(
            &Hs256,
            &Hs256Key::new(SECRET),
            json!({"alg": "HS256"}),
            Value::Object(no_iat),
        );
        assert!(v.verify(&token, now()).is_err(), "without iat, from now");
        let mut no_exp = claims(json!({})).as_object().unwrap().clone();
        no_exp.remove("exp");
        let token = raw_token(
            &Hs256,
            &Hs256Key::new(SECRET),
            json!({"alg": "HS256"}),
            Value::Object(no_exp),
        );
        assert_eq!(
            v.verify(&token, now()),
            Err(AuthError::Invalid("the token has no exp claim"))
        );
    }

    #[test]
    fn audience_and_issuer_are_checked() {
        let pinned = TokenRules {
            issuer: Some(ISSUER.into()),
            ..rules()
        };
        let v = hs_only(&pinned);
        assert!(v.verify(&hs256(json!({"iss": ISSUER})), now()).is_ok());
        assert!(v
            .verify(
                &hs256(json!({"iss": ISSUER, "aud": ["x", "authenticated"]})),
                now()
            )
            .is_ok());
        for bad in [
            json!({"iss": "https://evil.example/auth/v1"}),
            json!({}),
            json!({"iss": ISSUER, "aud": "anon"}),
            json!({"iss": ISSUER, "aud": null}),
        ] {
            assert!(v.verify(&hs256(bad.clone()), now()).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_algorithms_and_secrets_are_refused() {
        let rules = rules();
        let v = hs_only(&rules);
        let body = claims(json!({}));
        for alg in ["none", "HS384", "hs256", "PS256"] {
            let token = raw_token(
                &Hs256,
                &Hs256Key::new(SECRET),
                json!({"alg": alg}),
                body.clone(),
            );
            assert!(v.verify(&token, now()).is_err(), "{alg}");
        }
        let unsigned = format!(
            "{}.{}.",
            b64(json!({"alg": "none"}).to_string().as_bytes()),
            b64(body.to_string().as_bytes())
        );
        assert!(v.verify(&unsigned, now()).is_err());
        let forged = raw_token(
            &Hs256,
            &Hs256Key::new(b"another-secret"),
            json!({"alg": "HS256"}),
            body,
        );
        assert_eq!(
            v.verify(&forged, now()),
            Err(AuthError::Invalid("the token signature does not verify"))
        );
        assert!(v.verify("not-a-jwt", now()).is_err());
    }

    #[test]
    fn es256_and_rs256_verify_against_the_key_their_kid_names() {
        let keys = jwks(&[("ec-1", 7)], &[("rsa-1", "a")]);
        let rules = TokenRules {
            issuer: Some(ISSUER.into()),
            ..rules()
        };
        let v = Verifier::new(None, Some(&keys), &rules);
        let body = claims(json!({"iss": ISSUER}));
        let es = raw_token(
            &Es256,
            &es256_key(7),
            json!({"alg": "ES256", "kid": "ec-1"}),
            body.clone(),
        );
        assert_eq!(v.verify(&es, now()).unwrap().user_id, "user-1");
        let rs = raw_token(
            &Rsa::rs256(),
            &rsa_key("a"),
            json!({"alg": "RS256", "kid": "rsa-1"}),
            body.clone(),
        );
        assert_eq!(v.verify(&rs, now()).unwrap().workspace_id, "ws-1");
        // a kid the set does not hold asks for a refetch
        let rotated = raw_token(
            &Es256,
            &es256_key(9),
            json!({"alg": "ES256", "kid": "ec-2"}),
            body.clone(),
        );
        assert_eq!(
            v.verify(&rotated, now()),
            Err(AuthError::UnknownKey("ec-2".into()))
        );
        // a kid the set holds, signed by another key
        let forged = raw_token(
            &Es256,
            &es256_key(9),
            json!({"alg": "ES256", "kid": "ec-1"}),
            body,
        );
        assert_eq!(
            v.verify(&forged, now()),
            Err(AuthError::Invalid("the token signature does not verify"))
        );
    }

    #[test]
    fn algorithm_confusion_fails() {
        let keys = jwks(&[("ec-1", 7)], &[("rsa-1", "a")]);
        let rules = rules();
        let v = Verifier::new(Some(SECRET), Some(&keys), &rules);
        let body = claims(json!({}));
        // an ES256 header on the RSA key's kid, and the other way round
        let es_on_rsa = raw_token(
            &Es256,
            &es256_key(7),
            json!({"alg": "ES256", "kid": "rsa-1"}),
            body.clone(),
        );
        let rs_on_ec = raw_token(
            &Rsa::rs256(),
            &rsa_key("a"),
            json!({"alg": "RS256", "kid": "ec-1"}),
            body.clone(),
        );
        for token in [es_on_rsa, rs_on_ec] {
            assert_eq!(
                v.verify(&token, now()),
                Err(AuthError::Invalid(
                    "the token's algorithm does not match its key"
                ))
            );
        }
        // HS256 "signed" with the public key's bytes never meets that key
        let public = serde_json::to_vec(&JsonWebKey::from(es256_key(7).verifying_key())).unwrap();
        let hs_with_public = raw_token(
            &Hs256,
            &Hs256Key::new(&public),
            json!({"alg": "HS256", "kid": "ec-1"}),
            body.clone(),
        );
        assert_eq!(
            v.verify(&hs_with_public, now()),
            Err(AuthError::Invalid("the token signature does not verify"))
        );
        // without JWT_SECRET, HS256 is not accepted at all; without a JWKS, ES256 is not
        let jwks_only = Verifier::new(None, Some(&keys), &rules);
        assert!(jwks_only.verify(&hs256(json!({})), now()).is_err());
        let es = raw_token(
            &Es256,
            &es256_key(7),
            json!({"alg": "ES256", "kid": "ec-1"}),
            body,
        );
        assert!(hs_only(&rules).verify(&es, now()).is_err());
    }

    #[test]
    fn sub_and_workspace_are_required() {
        let rules = rules();
        let v = hs_only(&rules);
        assert!(matches!(
            v.verify(&hs256(json!({"sub": ""})), now()),
            Err(AuthError::Invalid(_))
        ));
        assert!(matches!(
            v.verify(&hs256(json!({"app_metadata": {}})), now()),
            Err(AuthError::NotPermitted(_))
        ));
    }

    #[test]
    fn jwks_documents_keep_only_signing_keys_hero_can_use() {
        let keys = jwks(&[("ec-1", 7)], &[("rsa-1", "a")]);
        assert_eq!(keys.len(), 2);
        let odd = json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "no-alg-match", "alg": "RS256", "crv": "P-256", "x": "AA", "y": "AA"}
        ]});
        assert!(KeySet::from_jwks(&odd.to_string()).unwrap().is_empty());
        assert!(KeySet::from_jwks("<html>").is_err());
    }
}
