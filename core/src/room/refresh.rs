//! The expiry rule of a token refresh (`auth` on an open socket), which [`super::on_refresh`]
//! applies once the glue has verified the new token.
//!
//! Verification forgives `exp` by the clock-skew leeway; a socket does not (see
//! [`Principal::expired`]). So a refresh with a token that has run out is refused
//! (`bad_token`) rather than acknowledged and then closed with 4001, and a refresh with a
//! token that ends sooner than the connection's current one keeps the later end: a refresh
//! never shortens a connection's life.

use crate::auth::{Principal, EXPIRED};

/// The verified token, unless it has run out at `now_ms`.
pub(super) fn unexpired(
    verified: Result<&Principal, String>,
    now_ms: i64,
) -> Result<&Principal, String> {
    verified.and_then(|principal| match principal.expired(now_ms) {
        true => Err(EXPIRED.to_owned()),
        false => Ok(principal),
    })
}

/// The connection's end after a refresh with `principal`: the later of the two.
pub(super) fn later_expiry(current_ms: i64, principal: &Principal) -> i64 {
    current_ms.max(principal.expires_at.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::conn;
    use super::super::{on_frame, on_refresh, Frame, FrameSnapshot, Limits, Outbound, RoomKind};
    use super::*;
    use crate::protocol::{codes, ServerMessage};
    use serde_json::json;

    fn principal(expires_at: i64) -> Principal {
        Principal {
            user_id: "ana".into(),
            name: "ANA".into(),
            avatar_url: None,
            workspace_id: "ws".into(),
            role: crate::auth::Role::Member,
            expires_at,
        }
    }

    #[test]
    fn a_token_that_has_run_out_is_refused() {
        let token = principal(10);
        assert_eq!(unexpired(Ok(&token), 9_999), Ok(&token));
        assert_eq!(unexpired(Ok(&token), 10_000), Err(EXPIRED.to_owned()));
        assert_eq!(unexpired(Err("bad".into()), 0), Err("bad".to_owned()));
    }

    #[test]
    fn the_later_end_is_kept() {
        assert_eq!(later_expiry(5_000, &principal(9)), 9_000);
        assert_eq!(later_expiry(5_000, &principal(2)), 5_000);
    }

    /// Through the room: an `auth` frame at 50 s, answered with a token whose `exp` was
    /// 40 s (inside any leeway), then with one that ends before the connection does.
    #[test]
    fn a_refresh_refuses_a_run_out_token_and_never_shortens_the_connection() {
        let mut connection = conn("c1", "ana");
        connection.expires_at_ms = 3_600_000;
        let frame = Frame::Text(r#"{"type":"auth","token":"t.o.k","id":7}"#);
        let snapshot = FrameSnapshot {
            connection: &connection,
            now_ms: 50_000,
            limits: &Limits::default(),
            kind: RoomKind::Task,
        };
        let effects = on_frame(snapshot, frame);
        let check = effects.verify.expect("a token to verify");
        assert_eq!(check.now_ms, 50_000);

        let run_out = on_refresh(check.clone(), Ok(&principal(40)), "ws");
        assert!(
            matches!(&run_out.frames[..], [Outbound::Reply(ServerMessage::Error { code, .. })] if code == codes::BAD_TOKEN),
            "{:?}",
            run_out.frames
        );
        assert!(run_out.attachments.is_empty(), "nothing changes");

        let shorter = on_refresh(check.clone(), Ok(&principal(600)), "ws");
        assert_eq!(
            shorter.frames,
            [Outbound::Reply(ServerMessage::Ack { id: json!(7) })]
        );
        let kept = shorter.attachments.first().unwrap_or(&check.connection);
        assert_eq!(kept.expires_at_ms, 3_600_000, "the later end stays");

        let longer = on_refresh(check, Ok(&principal(7_200)), "ws");
        assert_eq!(longer.attachments[0].expires_at_ms, 7_200_000);
    }
}
