//! One frame from a client: the size cap, the per-connection rate limit, parsing, and what
//! `typing` and `editing` do to the connection and tell the others.

use serde::{Deserialize, Serialize};

use super::{Connection, Frame, Limits, Outbound, Typing};
use crate::protocol::{close, codes, parse_client_message, ClientMessage, ServerMessage};

/// A fixed one-second window counter for the rate limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    pub window_start_ms: i64,
    pub count: u32,
    /// Consecutive windows that went over the limit.
    pub strikes: u32,
}

/// What the rate limiter says about one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Over the limit: drop it; `notify` is true for the first such frame in a window.
    Limited {
        notify: bool,
    },
    /// Over the limit for too many windows in a row: close the connection.
    Abuse,
}

impl RateWindow {
    pub fn admit(&mut self, now_ms: i64, limits: &Limits) -> Admit {
        if now_ms - self.window_start_ms >= 1000 {
            let previous_went_over = self.count > limits.messages_per_sec;
            if !previous_went_over || now_ms - self.window_start_ms >= 2000 {
                self.strikes = 0;
            }
            self.window_start_ms = now_ms;
            self.count = 0;
        }
        self.count += 1;
        if self.count <= limits.messages_per_sec {
            return Admit::Yes;
        }
        let first_over = self.count == limits.messages_per_sec + 1;
        if first_over {
            self.strikes += 1;
        }
        if self.strikes >= limits.max_strikes {
            Admit::Abuse
        } else {
            Admit::Limited { notify: first_over }
        }
    }
}

/// Which kind of room a frame arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    Task,
    /// The workspace board: it carries changes, not typing or editing.
    Board,
}

/// One text or binary frame from `connection`. Mutates its attachment state.
pub fn handle_frame(
    connection: &mut Connection,
    frame: Frame<'_>,
    now_ms: i64,
    limits: &Limits,
    kind: RoomKind,
) -> Vec<Outbound> {
    // The alarm closes expired connections too, but a frame can come first.
    if connection.expires_at_ms <= now_ms {
        return vec![Outbound::Close {
            connection_id: connection.id.clone(),
            code: close::TOKEN_EXPIRED,
            reason: "token expired".into(),
        }];
    }
    let size = match frame {
        Frame::Text(text) => text.len(),
        Frame::Binary(len) => len,
    };
    if size > limits.max_frame_bytes {
        return vec![Outbound::Close {
            connection_id: connection.id.clone(),
            code: close::TOO_BIG,
            reason: format!("frames are limited to {} bytes", limits.max_frame_bytes),
        }];
    }
    match connection.rate.admit(now_ms, limits) {
        Admit::Yes => {}
        Admit::Limited { notify: true } => {
            return vec![Outbound::Reply(ServerMessage::error(
                codes::RATE_LIMITED,
                format!(
                    "more than {} messages in a second; extra messages are dropped",
                    limits.messages_per_sec
                ),
                None,
            ))]
        }
        Admit::Limited { notify: false } => return Vec::new(),
        Admit::Abuse => {
            return vec![Outbound::Close {
                connection_id: connection.id.clone(),
                code: close::POLICY,
                reason: "rate limit exceeded repeatedly".into(),
            }]
        }
    }
    let Frame::Text(text) = frame else {
        return vec![Outbound::Reply(ServerMessage::error(
            codes::BINARY_UNSUPPORTED,
            "send JSON text frames",
            None,
        ))];
    };
    let message = match parse_client_message(text) {
        Ok(message) => message,
        Err(rejection) => return vec![Outbound::Reply(rejection.into_message())],
    };
    apply(connection, message, now_ms, limits, kind)
}

fn ack(id: Option<serde_json::Value>) -> Option<Outbound> {
    id.map(|id| Outbound::Reply(ServerMessage::Ack { id }))
}

fn apply(
    connection: &mut Connection,
    message: ClientMessage,
    now_ms: i64,
    limits: &Limits,
    kind: RoomKind,
) -> Vec<Outbound> {
    let refuse =
        |code, message: &str, id| vec![Outbound::Reply(ServerMessage::error(code, message, id))];
    match message {
        ClientMessage::Ping { id } => vec![Outbound::Reply(ServerMessage::Pong { id })],
        ClientMessage::Auth { id, token } => vec![Outbound::Verify { token, id }],
        ClientMessage::Typing { id, .. } | ClientMessage::Editing { id, .. }
            if kind == RoomKind::Board =>
        {
            refuse(
                codes::WRONG_ROOM,
                "typing and editing belong in a task's room, not on the board",
                id,
            )
        }
        ClientMessage::Typing { id, .. } | ClientMessage::Editing { id, .. }
            if !connection.can_write =>
        {
            refuse(
                codes::FORBIDDEN,
                "viewers can watch a room but not type or edit",
                id,
            )
        }
        ClientMessage::Typing { id, field, active } => {
            let mut out = Vec::new();
            let was = connection.typing.take();
            // Saying again what the others already know only moves the deadline.
            let repeat = match &was {
                Some(typing) => active && typing.field == field,
                None => !active,
            };
            if active {
                connection.typing = Some(Typing {
                    field: field.clone(),
                    until_ms: now_ms + limits.typing_ttl_ms,
                });
            }
            if let Some(previous) = was.filter(|t| t.field != field) {
                out.push(Outbound::Others(ServerMessage::Typing {
                    user_id: connection.user.id.clone(),
                    field: previous.field,
                    active: false,
                }));
            }
            if !repeat {
                out.push(Outbound::Others(ServerMessage::Typing {
                    user_id: connection.user.id.clone(),
                    field,
                    active,
                }));
            }
            out.extend(ack(id));
            out
        }
        ClientMessage::Editing { id, field } => {
            let mut out = Vec::new();
            if connection.editing != field {
                connection.editing = field.clone();
                out.push(Outbound::Others(ServerMessage::Editing {
                    user_id: connection.user.id.clone(),
                    field,
                }));
            }
            out.extend(ack(id));
            out
        }
    }
}

/// The answer to a token refresh (`auth`), once the room has verified the new token:
/// the same user and workspace move the connection's expiry and get `ack`; another user
/// or workspace closes the connection (4003); a token that does not verify gets `error`
/// and changes nothing (the current token still holds until it expires).
pub fn refreshed(
    connection: &mut Connection,
    verified: Result<&crate::auth::Principal, String>,
    workspace_id: &str,
    id: Option<serde_json::Value>,
) -> Vec<Outbound> {
    match verified {
        Err(reason) => vec![Outbound::Reply(ServerMessage::error(
            codes::BAD_TOKEN,
            format!("the new token was refused: {reason}"),
            id,
        ))],
        Ok(principal)
            if principal.user_id != connection.user.id
                || principal.workspace_id != workspace_id =>
        {
            vec![
                Outbound::Reply(ServerMessage::error(
                    codes::TOKEN_MISMATCH,
                    "a refreshed token must name the same user and workspace",
                    id,
                )),
                Outbound::Close {
                    connection_id: connection.id.clone(),
                    code: close::TOKEN_MISMATCH,
                    reason: "token for another user or workspace".into(),
                },
            ]
        }
        Ok(principal) => {
            connection.expires_at_ms = principal.expires_at.saturating_mul(1000);
            connection.can_write = principal.can_write();
            ack(id).into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::conn;
    use super::super::{next_alarm, on_alarm};
    use super::*;
    use serde_json::json;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn typing_is_broadcast_and_expires() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let out = handle_frame(
            &mut a,
            Frame::Text(r#"{"type":"typing","field":"title","active":true,"id":1}"#),
            10,
            &l,
            RoomKind::Task,
        );
        assert_eq!(out.len(), 2);
        assert!(matches!(
            &out[0],
            Outbound::Others(ServerMessage::Typing { active: true, .. })
        ));
        assert_eq!(out[1], Outbound::Reply(ServerMessage::Ack { id: json!(1) }));
        assert_eq!(
            next_alarm(std::slice::from_ref(&a), &[], None),
            Some(10 + l.typing_ttl_ms)
        );
        let mut connections = [a];
        let out = on_alarm(&mut connections, &mut Vec::new(), 10 + l.typing_ttl_ms);
        assert!(matches!(
            &out[..],
            [Outbound::All(ServerMessage::Typing { active: false, .. })]
        ));
        assert_eq!(connections[0].typing, None);
    }

    #[test]
    fn viewers_cannot_type_or_edit() {
        let l = limits();
        let mut viewer = conn("v", "vic");
        viewer.can_write = false;
        for frame in [
            r#"{"type":"typing","field":"title","active":true,"id":"t"}"#,
            r#"{"type":"editing","field":"title","id":"t"}"#,
        ] {
            let out = handle_frame(&mut viewer, Frame::Text(frame), 0, &l, RoomKind::Task);
            match &out[..] {
                [Outbound::Reply(ServerMessage::Error { code, id, .. })] => {
                    assert_eq!(code, codes::FORBIDDEN);
                    assert_eq!(id, &Some(json!("t")));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(viewer.typing, None);
        let out = handle_frame(
            &mut viewer,
            Frame::Text(r#"{"type":"ping","id":5}"#),
            0,
            &l,
            RoomKind::Task,
        );
        assert_eq!(
            out,
            [Outbound::Reply(ServerMessage::Pong { id: Some(json!(5)) })]
        );
    }

    #[test]
    fn oversized_and_binary_frames() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let big = "x".repeat(l.max_frame_bytes + 1);
        let out = handle_frame(&mut a, Frame::Text(&big), 0, &l, RoomKind::Task);
        assert!(matches!(
            &out[..],
            [Outbound::Close {
                code: close::TOO_BIG,
                ..
            }]
        ));
        let out = handle_frame(&mut a, Frame::Binary(3), 0, &l, RoomKind::Task);
        assert!(matches!(
            &out[..],
            [Outbound::Reply(ServerMessage::Error { .. })]
        ));
    }

    #[test]
    fn rate_limit_warns_once_per_second_then_closes_on_sustained_abuse() {
        let l = Limits {
            messages_per_sec: 3,
            max_strikes: 2,
            ..limits()
        };
        let mut a = conn("a1", "ana");
        let ping = Frame::Text(r#"{"type":"ping"}"#);
        let mut errors = 0;
        for _ in 0..10 {
            for outbound in handle_frame(&mut a, ping, 0, &l, RoomKind::Task) {
                if matches!(outbound, Outbound::Reply(ServerMessage::Error { .. })) {
                    errors += 1;
                }
            }
        }
        assert_eq!(errors, 1, "one rate_limited error per window");
        assert_eq!(a.rate.strikes, 1);
        // a calm second in between: the next abusive second starts counting from one again
        handle_frame(&mut a, ping, 1500, &l, RoomKind::Task);
        let mut closed = false;
        for _ in 0..4 {
            closed |= handle_frame(&mut a, ping, 3000, &l, RoomKind::Task)
                .iter()
                .any(|o| matches!(o, Outbound::Close { .. }));
        }
        assert!(!closed);
        assert_eq!(a.rate.strikes, 1);
        // two abusive seconds in a row close the connection
        for _ in 0..4 {
            closed |= handle_frame(&mut a, ping, 4000, &l, RoomKind::Task)
                .iter()
                .any(|o| {
                    matches!(
                        o,
                        Outbound::Close {
                            code: close::POLICY,
                            ..
                        }
                    )
                });
        }
        assert!(closed);
    }

    #[test]
    fn frames_after_expiry_close_with_4001_before_anything_else() {
        let mut a = conn("a1", "ana");
        a.expires_at_ms = 100;
        let out = handle_frame(
            &mut a,
            Frame::Text(r#"{"type":"ping"}"#),
            100,
            &limits(),
            RoomKind::Task,
        );
        assert!(matches!(
            &out[..],
            [Outbound::Close {
                code: close::TOKEN_EXPIRED,
                ..
            }]
        ));
    }

    #[test]
    fn repeated_typing_is_not_rebroadcast_and_boards_refuse_it() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let typing = Frame::Text(r#"{"type":"typing","field":"title","active":true}"#);
        let first = handle_frame(&mut a, typing, 0, &l, RoomKind::Task);
        assert_eq!(first.len(), 1, "the first says so");
        let again = handle_frame(&mut a, typing, 1000, &l, RoomKind::Task);
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(
            a.typing.as_ref().unwrap().until_ms,
            1000 + l.typing_ttl_ms,
            "only the deadline moved"
        );
        let stop = Frame::Text(r#"{"type":"typing","field":"title","active":false}"#);
        assert_eq!(
            handle_frame(&mut a, stop, 1100, &l, RoomKind::Task).len(),
            1
        );
        assert!(
            handle_frame(&mut a, stop, 1200, &l, RoomKind::Task).is_empty(),
            "nobody thinks so any more"
        );
        for frame in [
            r#"{"type":"typing","field":"title","active":true,"id":1}"#,
            r#"{"type":"editing","field":"title","id":1}"#,
        ] {
            let out = handle_frame(&mut a, Frame::Text(frame), 2000, &l, RoomKind::Board);
            match &out[..] {
                [Outbound::Reply(ServerMessage::Error {
                    code, id: Some(_), ..
                })] => {
                    assert_eq!(code, codes::WRONG_ROOM)
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((a.typing.as_ref(), a.editing.as_ref()), (None, None));
    }

    #[test]
    fn a_refresh_is_verified_then_moves_the_expiry_or_closes_with_4003() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let out = handle_frame(
            &mut a,
            Frame::Text(r#"{"type":"auth","token":"t.o.k","id":9}"#),
            0,
            &l,
            RoomKind::Task,
        );
        assert_eq!(
            out,
            [Outbound::Verify {
                token: "t.o.k".into(),
                id: Some(json!(9))
            }]
        );
        let mut principal = crate::auth::Principal {
            user_id: "ana".into(),
            name: "ANA".into(),
            avatar_url: None,
            workspace_id: "ws".into(),
            role: crate::auth::Role::Member,
            expires_at: 5_000,
        };
        let out = refreshed(&mut a, Ok(&principal), "ws", Some(json!(9)));
        assert_eq!(out, [Outbound::Reply(ServerMessage::Ack { id: json!(9) })]);
        assert_eq!(a.expires_at_ms, 5_000_000);
        let out = refreshed(&mut a, Err("expired".into()), "ws", None);
        assert!(
            matches!(&out[..], [Outbound::Reply(ServerMessage::Error { code, .. })] if code == codes::BAD_TOKEN)
        );
        assert_eq!(
            a.expires_at_ms, 5_000_000,
            "a refused refresh changes nothing"
        );
        principal.user_id = "eve".into();
        let out = refreshed(&mut a, Ok(&principal), "ws", None);
        assert!(matches!(
            &out[..],
            [
                _,
                Outbound::Close {
                    code: close::TOKEN_MISMATCH,
                    ..
                }
            ]
        ));
        principal.user_id = "ana".into();
        let out = refreshed(&mut a, Ok(&principal), "other-ws", None);
        assert!(matches!(
            &out[..],
            [
                _,
                Outbound::Close {
                    code: close::TOKEN_MISMATCH,
                    ..
                }
            ]
        ));
    }
}
