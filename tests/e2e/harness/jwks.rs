//! A stand-in for a Supabase project's auth server: it publishes a JWKS on 127.0.0.1 (the
//! server under test points `SUPABASE_URL` at it) and signs ES256 and RS256 tokens with
//! the matching private keys. Tests rotate keys, revoke them and take the JWKS down.
//!
//! The RSA keys are fixed test keys (testkit/keys); the P-256 keys are derived from a seed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jwt_compact::alg::{Es256, Rsa, RsaPrivateKey, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmSignature};
use serde_json::{json, Value};

/// A private key and the `kid` it is published under.
#[derive(Clone)]
enum PrivateKey {
    Es256(Box<<Es256 as Algorithm>::SigningKey>),
    Rs256(Box<RsaPrivateKey>),
}

#[derive(Default)]
struct State {
    /// Every key the tests made, published or not (a revoked key can still sign).
    keys: Vec<(String, PrivateKey)>,
    /// The kids the JWKS publishes.
    published: Vec<String>,
    down: bool,
    fetches: usize,
}

pub struct Jwks {
    port: u16,
    state: Arc<Mutex<State>>,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_key(name: &str) -> RsaPrivateKey {
    let path = hero_testkit::wrangler::project_root()
        .join("testkit/keys")
        .join(format!("rsa-{name}.private.jwk.json"));
    let text = std::fs::read_to_string(path).expect("test RSA key");
    let jwk: JsonWebKey<'_> = serde_json::from_str(&text).expect("a JWK");
    RsaPrivateKey::try_from(&jwk).expect("an RSA private key")
}

fn public_jwk(kid: &str, key: &PrivateKey) -> Value {
    let mut jwk = match key {
        PrivateKey::Es256(key) => {
            let mut jwk = serde_json::to_value(JsonWebKey::from(key.verifying_key())).unwrap();
            jwk["alg"] = json!("ES256");
            jwk
        }
        PrivateKey::Rs256(key) => {
            let public = RsaPublicKey::from(key.as_ref());
            let mut jwk = serde_json::to_value(JsonWebKey::from(&public)).unwrap();
            jwk["alg"] = json!("RS256");
            jwk
        }
    };
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    jwk
}

impl Jwks {
    /// Starts serving on a free loopback port, with nothing published yet.
    pub fn start() -> Jwks {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = [0u8; 4096];
                let read = stream.read(&mut request).unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..read]);
                let (status, body) = {
                    let mut state = shared.lock().unwrap();
                    state.fetches += 1;
                    if state.down {
                        ("503 Service Unavailable", "down".to_owned())
                    } else if head.starts_with("GET /auth/v1/.well-known/jwks.json") {
                        let keys: Vec<Value> = state
                            .published
                            .iter()
                            .filter_map(|kid| {
                                let (_, key) = state.keys.iter().find(|(k, _)| k == kid)?;
                                Some(public_jwk(kid, key))
                            })
                            .collect();
                        ("200 OK", json!({ "keys": keys }).to_string())
                    } else {
                        ("404 Not Found", "{}".to_owned())
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Jwks { port, state }
    }

    /// What the server under test gets as `SUPABASE_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `iss` of the project's tokens.
    pub fn issuer(&self) -> String {
        format!("{}/auth/v1", self.url())
    }

    /// Makes a P-256 key from `seed` and publishes it as `kid`.
    pub fn add_es256(&self, kid: &str, seed: u8) {
        let key = <Es256 as Algorithm>::SigningKey::from_slice(&[seed; 32]).unwrap();
        self.add(kid, PrivateKey::Es256(Box::new(key)));
    }

    /// Publishes test RSA key `name` ("a" or "b") as `kid`.
    pub fn add_rs256(&self, kid: &str, name: &str) {
        self.add(kid, PrivateKey::Rs256(Box::new(rsa_key(name))));
    }

    fn add(&self, kid: &str, key: PrivateKey) {
        let mut state = self.state.lock().unwrap();
        state.keys.retain(|(k, _)| k != kid);
        state.keys.push((kid.to_owned(), key));
        state.published.retain(|k| k != kid);
        state.published.push(kid.to_owned());
    }

    /// Stops publishing `kid` (a revoked key); it can still sign, as a thief's copy would.
    pub fn revoke(&self, kid: &str) {
        self.state.lock().unwrap().published.retain(|k| k != kid);
    }

    /// While down, every request gets 503.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// How many requests the JWKS has served.
    pub fn fetches(&self) -> usize {
        self.state.lock().unwrap().fetches
    }

    /// A token signed with `kid`'s private key, with `header` fields added (e.g. to lie
    /// about `alg`) and exactly `claims`.
    pub fn sign_raw(&self, kid: &str, header: Value, claims: &Value) -> String {
        let key = {
            let state = self.state.lock().unwrap();
            state
                .keys
                .iter()
                .find(|(k, _)| k == kid)
                .map(|(_, key)| key.clone())
                .expect("a key the test made")
        };
        let mut full_header = json!({
            "alg": match key { PrivateKey::Es256(_) => "ES256", PrivateKey::Rs256(_) => "RS256" },
            "kid": kid,
            "typ": "JWT"
        });
        for (name, value) in header.as_object().into_iter().flatten() {
            full_header[name] = value.clone();
        }
        let signing_input = format!(
            "{}.{}",
            b64(full_header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = match &key {
            PrivateKey::Es256(key) => Es256
                .sign(key, signing_input.as_bytes())
                .as_bytes()
                .into_owned(),
            PrivateKey::Rs256(key) => Rsa::rs256()
                .sign(key, signing_input.as_bytes())
                .as_bytes()
                .into_owned(),
        };
        format!("{signing_input}.{}", b64(&signature))
    }

    /// A token as Supabase would issue it for `user` in `workspace`, valid for `ttl_secs`.
    pub fn token(&self, kid: &str, user: &str, workspace: &str, ttl_secs: i64) -> String {
        self.sign_raw(kid, json!({}), &self.claims(user, workspace, ttl_secs))
    }

    /// Supabase's claim layout for `user` in `workspace`.
    pub fn claims(&self, user: &str, workspace: &str, ttl_secs: i64) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer(),
            "aud": "authenticated",
            "sub": user,
            "role": "authenticated",
            "email": format!("{user}@example.com"),
            "iat": now,
            "exp": now + ttl_secs,
            "user_metadata": {"full_name": user.to_uppercase()},
            "app_metadata": {"workspace_id": workspace}
        })
    }
}
