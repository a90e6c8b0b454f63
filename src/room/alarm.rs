//! The room's one alarm. This instance remembers the time it last set or read, so a
//! keystroke that only needs the alarm no later than it already is does not ask the
//! runtime again. Unknown when the room wakes and while the alarm runs; then it is read.

use std::cell::Cell;

use hero_core::room::Alarm;
use worker::Storage;

use crate::room::error::RoomResult;
use crate::runtime::now_ms;

#[derive(Default)]
pub struct KnownAlarm {
    /// `None`: not known. `Some(None)`: no alarm is set.
    at_ms: Cell<Option<Option<i64>>>,
}

impl KnownAlarm {
    /// The alarm is running: the runtime has taken it off, and the handler may set another.
    pub fn firing(&self) {
        self.at_ms.set(None);
    }

    /// Sets the alarm as decided. Moving it earlier reads the current one first (from
    /// memory when known), so a join or a keystroke never pushes back a deadline set.
    pub async fn set(&self, storage: &Storage, alarm: Alarm) -> RoomResult<()> {
        let at_ms = match alarm {
            Alarm::Keep => return Ok(()),
            Alarm::NoLaterThan(at_ms) => {
                let current = match self.at_ms.get() {
                    Some(known) => known,
                    None => storage.get_alarm().await?,
                };
                self.at_ms.set(Some(current));
                if current.is_some_and(|current| current <= at_ms) {
                    return Ok(());
                }
                Some(at_ms)
            }
            Alarm::Set(at_ms) => at_ms,
        };
        // Forget first: if the runtime refuses, the next decision reads it again.
        self.at_ms.set(None);
        match at_ms {
            Some(at_ms) => {
                let at_ms = at_ms.max(now_ms() + 1);
                storage.set_alarm(alarm_time(at_ms)).await?;
                self.at_ms.set(Some(Some(at_ms)));
            }
            None => {
                storage.delete_alarm().await?;
                self.at_ms.set(Some(None));
            }
        }
        Ok(())
    }
}

fn alarm_time(at_ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default()
}
