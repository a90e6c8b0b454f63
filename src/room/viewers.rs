//! Who is viewing which task, between a task room and its board: a task room whose set of
//! users changed (someone new came, or someone's grace period ran out) tells its board,
//! after the fact and off the critical path, one report at a time; the board takes each
//! report unless a newer one is in, and tells its sockets.

use std::rc::Rc;

use super::error::RoomResult;
use super::object::Room;
use super::sockets::Sockets;
use super::stub;
use crate::runtime::now_ms;
use hero_core::protocol::ServerMessage;
use hero_core::room::{RoomKey, TaskViewers, ViewerChange};

impl Room {
    /// A task room: records who came and went, and reports the set to the board when it
    /// changed. A report already on its way goes round once more instead of a second
    /// starting, so a room filling up sends a few reports, not one per join.
    pub(super) fn report_viewers(&self, changes: &[ViewerChange]) {
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
        match self.storage.change_viewers(changes) {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::error!(cause = %error, "room viewers");
                return;
            }
        }
        if !self.reporting.start() {
            return;
        }
        let reporting = Rc::clone(&self.reporting);
        let (env, storage) = (self.env.clone(), self.storage.clone());
        self.state.wait_until(async move {
            loop {
                reporting.round();
                match storage.viewers() {
                    Ok(users) => {
                        let viewers = TaskViewers {
                            task_id: task_id.clone(),
                            users,
                            at_ms: now_ms(),
                        };
                        stub::tell_board_viewers(&env, &workspace_id, viewers).await;
                    }
                    Err(error) => tracing::error!(cause = %error, "room viewers"),
                }
                if !reporting.asked_again() {
                    break;
                }
            }
            reporting.done();
        });
    }

    /// A board: a task room's report, taken unless a newer one is already in.
    pub(super) async fn take_viewers(&self, report: TaskViewers) -> RoomResult<()> {
        if self.storage.take_task_viewers(&report)? {
            let frame = ServerMessage::TaskPresence {
                task_id: report.task_id.to_string(),
                users: report.users,
            };
            Sockets::of(&self.state).broadcast(&frame.to_json(), None);
        }
        Ok(())
    }
}
