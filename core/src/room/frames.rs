//! One frame from a client ([`on_frame`]): expiry, the size cap, parsing, and what `typing` and `editing` do to the connection and tell the others; and
//! the answer to a token refresh once the glue has verified it ([`on_refresh`]).

use super::effects::{Alarm, Effects, StorageWrite, TokenCheck};
use super::{Connection, Frame, Limits, Outbound, RoomKind, Typing};
use crate::protocol::{close, codes, parse_client_message, ClientMessage, ServerMessage};

/// What a frame needs to know: the connection it came on (its socket's attachment) and the
/// room's settings.
#[derive(Debug, Clone, Copy)]
pub struct FrameSnapshot<'a> {
    pub connection: &'a Connection,
    pub now_ms: i64,
    pub limits: &'a Limits,
    pub kind: RoomKind,
}

/// One text or binary frame: the replies and broadcasts it causes, the connection's new
/// attachment, and (for `editing` and `typing`) presence and the typing deadline.
pub fn on_frame(snapshot: FrameSnapshot<'_>, frame: Frame<'_>) -> Effects {
    let mut connection = snapshot.connection.clone();
    let mut effects = handle_frame(
        &mut connection,
        frame,
        snapshot.now_ms,
        snapshot.limits,
        snapshot.kind,
    );
    let before = snapshot.connection;
    if connection.editing != before.editing {
        effects.storage.push(StorageWrite::PresenceFromSockets {
            user_id: connection.user.id.clone(),
        });
    }
    if let Some(typing) = connection
        .typing
        .as_ref()
        .filter(|t| Some(*t) != before.typing.as_ref())
    {
        effects.alarm = effects.alarm.and(Alarm::NoLaterThan(typing.until_ms));
    }
    if connection != *before {
        // Written before anything is sent: a close that follows reads it to leave.
        effects.attachments.insert(0, connection);
    }
    effects
}

fn handle_frame(
    connection: &mut Connection,
    frame: Frame<'_>,
    now_ms: i64,
    limits: &Limits,
    kind: RoomKind,
) -> Effects {
    match checked_message(connection, frame, now_ms, limits) {
        Ok(message) => handle_message(connection, message, now_ms, limits, kind),
        Err(frames) => Effects::frames(frames),
    }
}

/// The frame's message, or what to answer instead: its connection expired, it is too big,
/// binary, or not a message. (The user's frame budget was checked before: see
/// [`super::budget`].)
fn checked_message(
    connection: &mut Connection,
    frame: Frame<'_>,
    now_ms: i64,
    limits: &Limits,
) -> Result<ClientMessage, Vec<Outbound>> {
    // The alarm closes expired connections too, but a frame can come first.
    if connection.expires_at_ms <= now_ms {
        return Err(vec![Outbound::Close {
            connection_id: connection.id.clone(),
            code: close::TOKEN_EXPIRED,
            reason: "token expired".into(),
        }]);
    }
    let size = match frame {
        Frame::Text(text) => text.len(),
        Frame::Binary(bytes) => bytes.len(),
    };
    if size > limits.max_frame_bytes {
        return Err(vec![Outbound::Close {
            connection_id: connection.id.clone(),
            code: close::TOO_BIG,
            reason: format!("frames are limited to {} bytes", limits.max_frame_bytes),
        }]);
    }
    let Frame::Text(text) = frame else {
        return Err(vec![Outbound::Reply(ServerMessage::error(
            codes::BINARY_UNSUPPORTED,
            "send JSON text frames",
            None,
        ))]);
    };
    // The runtime hands a text frame that was not UTF-8 over with U+FFFD in place of the
    // bad bytes; no message of this protocol carries one.
    if text.contains('\u{FFFD}') {
        return Err(vec![Outbound::Close {
            connection_id: connection.id.clone(),
            code: close::INVALID_PAYLOAD,
            reason: "text frames must be valid UTF-8".into(),
        }]);
    }
    parse_client_message(text).map_err(|rejection| vec![Outbound::Reply(rejection.into_message())])
}

fn ack(id: Option<serde_json::Value>) -> Option<Outbound> {
    id.map(|id| Outbound::Reply(ServerMessage::Ack { id }))
}

/// What a well-formed message does.
fn handle_message(
    connection: &mut Connection,
    message: ClientMessage,
    now_ms: i64,
    limits: &Limits,
    kind: RoomKind,
) -> Effects {
    let refuse = |code, message: &str, id| {
        Effects::frames(vec![Outbound::Reply(ServerMessage::error(
            code, message, id,
        ))])
    };
    match message {
        ClientMessage::Ping { id } => {
            Effects::frames(vec![Outbound::Reply(ServerMessage::Pong { id })])
        }
        ClientMessage::Auth { id, token } => Effects {
            verify: Some(TokenCheck {
                token,
                id,
                connection: connection.clone(),
                now_ms,
            }),
            ..Effects::default()
        },
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
            Effects::frames(typing(connection, field, active, id, now_ms, limits))
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
            Effects::frames(out)
        }
    }
}

/// `typing`: the others hear of a change (a field stopped, another started), not of a
/// repeat, which only moves the deadline.
fn typing(
    connection: &mut Connection,
    field: String,
    active: bool,
    id: Option<serde_json::Value>,
    now_ms: i64,
    limits: &Limits,
) -> Vec<Outbound> {
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

/// The answer to a token refresh (`auth`), once the room has verified the new token:
/// the same user and workspace move the connection's expiry and get `ack`; another user
/// or workspace closes the connection (4003); a token that does not verify gets `error`
/// and changes nothing (the current token still holds until it expires).
pub fn on_refresh(
    check: TokenCheck,
    verified: Result<&crate::auth::Principal, String>,
    workspace_id: &str,
) -> Effects {
    let (id, connection, now_ms) = (check.id, check.connection, check.now_ms);
    let verified = super::refresh::unexpired(verified, now_ms);
    let mut refreshed_connection = connection.clone();
    let frames = refreshed(&mut refreshed_connection, verified, workspace_id, id);
    let attachments = if refreshed_connection != connection {
        vec![refreshed_connection]
    } else {
        Vec::new()
    };
    Effects {
        attachments,
        frames,
        ..Effects::default()
    }
}

fn refreshed(
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
            connection.expires_at_ms =
                super::refresh::later_expiry(connection.expires_at_ms, principal);
            connection.can_write = principal.can_write();
            ack(id).into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::next_alarm;
    use super::super::test_support::{alarm_over, conn, handle};
    use super::*;
    use serde_json::json;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn typing_is_broadcast_and_expires() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let out = handle(
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
        let out = alarm_over(&mut connections, &mut Vec::new(), 10 + l.typing_ttl_ms);
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
            let out = handle(&mut viewer, Frame::Text(frame), 0, &l, RoomKind::Task);
            match &out[..] {
                [Outbound::Reply(ServerMessage::Error { code, id, .. })] => {
                    assert_eq!(code, codes::FORBIDDEN);
                    assert_eq!(id, &Some(json!("t")));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(viewer.typing, None);
        let out = handle(
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
        let out = handle(&mut a, Frame::Text(&big), 0, &l, RoomKind::Task);
        assert!(matches!(
            &out[..],
            [Outbound::Close {
                code: close::TOO_BIG,
                ..
            }]
        ));
        let out = handle(&mut a, Frame::Binary(&[1, 2, 3]), 0, &l, RoomKind::Task);
        assert!(matches!(
            &out[..],
            [Outbound::Reply(ServerMessage::Error { .. })]
        ));
        // Not UTF-8: the runtime's replacement character gives it away.
        let out = handle(
            &mut a,
            Frame::Text("{\"type\":\"ping\",\"id\":\"\u{FFFD}\"}"),
            0,
            &l,
            RoomKind::Task,
        );
        assert!(matches!(
            &out[..],
            [Outbound::Close {
                code: close::INVALID_PAYLOAD,
                ..
            }]
        ));
    }

    #[test]
    fn frames_after_expiry_close_with_4001_before_anything_else() {
        let mut a = conn("a1", "ana");
        a.expires_at_ms = 100;
        let out = handle(
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
        let first = handle(&mut a, typing, 0, &l, RoomKind::Task);
        assert_eq!(first.len(), 1, "the first says so");
        let again = handle(&mut a, typing, 1000, &l, RoomKind::Task);
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(
            a.typing.as_ref().unwrap().until_ms,
            1000 + l.typing_ttl_ms,
            "only the deadline moved"
        );
        let stop = Frame::Text(r#"{"type":"typing","field":"title","active":false}"#);
        assert_eq!(handle(&mut a, stop, 1100, &l, RoomKind::Task).len(), 1);
        assert!(
            handle(&mut a, stop, 1200, &l, RoomKind::Task).is_empty(),
            "nobody thinks so any more"
        );
        for frame in [
            r#"{"type":"typing","field":"title","active":true,"id":1}"#,
            r#"{"type":"editing","field":"title","id":1}"#,
        ] {
            let out = handle(&mut a, Frame::Text(frame), 2000, &l, RoomKind::Board);
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
        let a = conn("a1", "ana");
        let snapshot = FrameSnapshot {
            connection: &a,
            now_ms: 0,
            limits: &l,
            kind: RoomKind::Task,
        };
        let effects = on_frame(
            snapshot,
            Frame::Text(r#"{"type":"auth","token":"t.o.k","id":9}"#),
        );
        assert!(
            effects.frames.is_empty(),
            "nothing is said before the check"
        );
        let check = effects.verify.clone().expect("a token to verify");
        assert_eq!(
            (check.token.as_str(), &check.id),
            ("t.o.k", &Some(json!(9)))
        );
        assert!(
            effects.attachments.is_empty(),
            "nothing about the connection changed yet"
        );
        let mut principal = crate::auth::Principal {
            user_id: "ana".into(),
            name: "ANA".into(),
            avatar_url: None,
            workspace_id: "ws".into(),
            role: crate::auth::Role::Member,
            expires_at: 5_000,
        };
        let ok = on_refresh(check.clone(), Ok(&principal), "ws");
        assert_eq!(
            ok.frames,
            [Outbound::Reply(ServerMessage::Ack { id: json!(9) })]
        );
        assert_eq!(ok.attachments[0].expires_at_ms, 5_000_000);
        let refused = on_refresh(check.clone(), Err("expired".into()), "ws");
        assert!(
            matches!(&refused.frames[..], [Outbound::Reply(ServerMessage::Error { code, .. })] if code == codes::BAD_TOKEN)
        );
        assert!(
            refused.attachments.is_empty(),
            "a refused refresh changes nothing"
        );
        principal.user_id = "eve".into();
        let other_user = on_refresh(check.clone(), Ok(&principal), "ws");
        assert!(matches!(
            &other_user.frames[..],
            [
                _,
                Outbound::Close {
                    code: close::TOKEN_MISMATCH,
                    ..
                }
            ]
        ));
        principal.user_id = "ana".into();
        let other_workspace = on_refresh(check, Ok(&principal), "other-ws");
        assert!(matches!(
            &other_workspace.frames[..],
            [
                _,
                Outbound::Close {
                    code: close::TOKEN_MISMATCH,
                    ..
                }
            ]
        ));
    }

    #[test]
    fn editing_and_typing_touch_presence_and_the_alarm_only_when_they_change() {
        let l = limits();
        let a = conn("a1", "ana");
        let snapshot = |connection| FrameSnapshot {
            connection,
            now_ms: 100,
            limits: &l,
            kind: RoomKind::Task,
        };
        let editing = on_frame(
            snapshot(&a),
            Frame::Text(r#"{"type":"editing","field":"title"}"#),
        );
        assert_eq!(
            editing.storage,
            [StorageWrite::PresenceFromSockets {
                user_id: "ana".into()
            }]
        );
        assert_eq!(editing.alarm, Alarm::Keep);
        let typing = on_frame(
            snapshot(&a),
            Frame::Text(r#"{"type":"typing","field":"title","active":true}"#),
        );
        assert!(typing.storage.is_empty());
        assert_eq!(typing.alarm, Alarm::NoLaterThan(100 + l.typing_ttl_ms));
        let ping = on_frame(snapshot(&a), Frame::Text(r#"{"type":"ping"}"#));
        assert_eq!(ping.alarm, Alarm::Keep);
        assert!(ping.storage.is_empty());
    }
}
