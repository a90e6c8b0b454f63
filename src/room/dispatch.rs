//! Carrying out what the state machine decided ([`hero_core::room::Outbound`]): replies to
//! the sender, broadcasts, presence (which may be held back for a diff), closes; and, for a
//! task room whose set of users changed, telling its board, one report at a time.

use std::cell::Cell;

use worker::WebSocket;

use super::object::Room;
use super::sockets::Sockets;
use super::stub;
use crate::runtime::now_ms;
use hero_core::protocol::{codes, ServerMessage};
use hero_core::room::{viewer_changes, Outbound, RoomKey, TaskViewers};

impl Room {
    /// Carries out what the state machine decided. `sender` is the connection the event
    /// came from, if any.
    pub(super) fn dispatch(&self, sender: Option<(&str, &WebSocket)>, outbounds: Vec<Outbound>) {
        self.tell_board_who_is_here(&outbounds);
        let sockets = Sockets::of(&self.state);
        for outbound in outbounds {
            log_outbound(&outbound);
            match outbound {
                Outbound::Reply(message) => {
                    if let Some((_, ws)) = sender {
                        let _ = ws.send_with_str(message.to_json());
                    }
                }
                Outbound::ReplyFrame(frame) => {
                    if let Some((_, ws)) = sender {
                        let _ = ws.send_with_str(frame);
                    }
                }
                Outbound::Others(message) | Outbound::All(message) if is_presence(&message) => {
                    let skip = sender.map(|(id, _)| id);
                    if let Err(error) = self.presence_out(message, skip) {
                        tracing::error!(cause = %error, "room presence");
                    }
                }
                Outbound::Others(message) => {
                    sockets.broadcast(&message.to_json(), sender.map(|(id, _)| id));
                }
                Outbound::All(message) => {
                    sockets.broadcast(&message.to_json(), None);
                }
                Outbound::Close {
                    connection_id,
                    code,
                    reason,
                } => self.close_connection(&connection_id, code, &reason),
                // Verified in websocket_message before anything is dispatched.
                Outbound::Verify { .. } => {}
            }
        }
    }

    /// A task room whose set of users changed (someone new came, or someone's grace period
    /// ran out) tells its board, after the fact and off the critical path.
    fn tell_board_who_is_here(&self, outbounds: &[Outbound]) {
        let changes = viewer_changes(outbounds);
        if changes.is_empty() {
            return;
        }
        let Some(RoomKey::Task {
            workspace_id,
            task_id,
        }) = self.key()
        else {
            return;
        };
        match self.storage.change_viewers(&changes) {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::error!(cause = %error, "room viewers");
                return;
            }
        }
        let report = std::rc::Rc::clone(&self.viewers_report);
        if report.in_flight.replace(true) {
            report.again.set(true);
            return;
        }
        let (env, storage) = (self.env.clone(), self.storage.clone());
        self.state.wait_until(async move {
            loop {
                report.again.set(false);
                match storage.viewers() {
                    Ok(users) => {
                        let viewers = TaskViewers {
                            task_id: task_id.clone(),
                            users,
                            at_ms: now_ms(),
                        };
                        stub::tell_board_viewers(&env, &workspace_id, viewers, "").await;
                    }
                    Err(error) => tracing::error!(cause = %error, "room viewers"),
                }
                if !report.again.get() {
                    break;
                }
            }
            report.in_flight.set(false);
        });
    }
}

/// Whether a report to the board is on its way, and whether the set changed since it left.
#[derive(Default)]
pub(super) struct ReportInFlight {
    in_flight: Cell<bool>,
    again: Cell<bool>,
}

/// Presence changes go through [`Room::presence_out`], which may hold them back.
fn is_presence(message: &ServerMessage) -> bool {
    matches!(
        message,
        ServerMessage::UserJoined { .. }
            | ServerMessage::UserLeft { .. }
            | ServerMessage::PresenceDiff { .. }
    )
}

/// The log line for what a room is about to do, where it is worth one.
fn log_outbound(outbound: &Outbound) {
    match outbound {
        Outbound::Close {
            connection_id,
            code,
            reason,
        } => {
            tracing::info!(event = "closed", closed_connection = %connection_id, code, reason = %reason, "room event");
        }
        Outbound::Reply(ServerMessage::Error { code, .. }) if code == codes::RATE_LIMITED => {
            tracing::warn!(event = "rate_limited", "room event");
        }
        Outbound::Reply(ServerMessage::Error { code, .. }) => {
            tracing::debug!(event = "bad_frame", code = %code, "room event");
        }
        Outbound::Others(ServerMessage::UserJoined { user, connections }) => {
            tracing::info!(event = "joined", joined_user = %user.id, connections, "room event");
        }
        Outbound::All(ServerMessage::UserLeft { user_id }) => {
            tracing::info!(event = "left", left_user = %user_id, "room event");
        }
        _ => {}
    }
}
