//! An HTTP client acting as one user, and a response read whole.

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status.
    pub fn expect_problem(self, status: u16) -> Self {
        let reply = self.expect(status);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{}",
            reply.text
        );
        assert_eq!(reply.body["status"], status);
        for member in ["type", "title", "detail"] {
            assert!(
                reply.body[member].is_string(),
                "problem lacks {member}: {}",
                reply.text
            );
        }
        reply
    }
}

/// An HTTP client acting as one user.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(base: &str, token: Option<String>) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: base.to_owned(),
            token,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder
            .send()
            .await
            .expect("request reaches the dev server");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value, if_match: Option<&str>) -> Reply {
        let mut builder = self.request(Method::PATCH, path).json(body);
        if let Some(tag) = if_match {
            builder = builder.header("If-Match", tag);
        }
        self.send(builder).await
    }

    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Reply {
        let mut builder = self.request(Method::DELETE, path);
        if let Some(tag) = if_match {
            builder = builder.header("If-Match", tag);
        }
        self.send(builder).await
    }

    /// Creates a task and returns it (asserting 201).
    pub async fn create(&self, body: Value) -> Value {
        self.post("/api/tasks", &body).await.expect(201).body
    }
}
