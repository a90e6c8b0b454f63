//! Broadcast pacing: a busy room spaces its broadcasts to keep to its frame budget, and what
//! commits meanwhile leaves together in one `batch` frame.
//!
//! The wait happens inside the request that is already running (the catch-up that is about
//! to broadcast); it is never a timer, so it cannot keep an idle room awake.

/// The longest a broadcast ever waits for company, in milliseconds.
pub const MAX_BROADCAST_DELAY_MS: i64 = 100;

/// How long a broadcast should wait so the room keeps to `frames_per_sec`.
///
/// A broadcast to `sockets` sockets costs `sockets` frames, so broadcasts may start at most
/// every `sockets × 1000 / frames_per_sec` ms (50 ms for 1,000 sockets at the default
/// 20,000/s; 0.5 ms for 10). A room that broadcast longer ago than that sends at once, so a
/// quiet room adds no delay; a busy one waits out the rest of the gap, and everything
/// committed during the wait leaves in the same `batch` frame. Capped at
/// [`MAX_BROADCAST_DELAY_MS`].
pub fn broadcast_delay_ms(
    now_ms: i64,
    last_broadcast_ms: Option<i64>,
    sockets: usize,
    frames_per_sec: u64,
) -> i64 {
    let Some(last) = last_broadcast_ms else {
        return 0;
    };
    let gap = (sockets as i64)
        .saturating_mul(1000)
        .checked_div(frames_per_sec.max(1) as i64)
        .unwrap_or(0)
        .min(MAX_BROADCAST_DELAY_MS);
    (last + gap - now_ms).clamp(0, gap)
}

/// Rooms up to this size hear of every join and leave as it happens (the default of
/// `ROOM_PRESENCE_BATCH_ABOVE`).
pub const SMALL_ROOM: usize = 50;
/// In a larger room, presence changes leave together at most this often (the default of
/// `ROOM_PRESENCE_GAP_MS`).
pub const PRESENCE_GAP_MS: i64 = 250;

/// How long a presence change should wait. Presence is not urgent the way a task's change
/// is, and in a large room every join told to everyone is the room's size in frames: so
/// beyond `batch_above` sockets ([`SMALL_ROOM`] by default), presence goes out at most
/// every `gap_ms` ([`PRESENCE_GAP_MS`] by default, and never faster than the frame budget
/// allows), the changes in between as one `presence_diff`. Filling a room of 1,000 then costs a few frames per socket per second
/// instead of one per join.
pub fn presence_delay_ms(
    now_ms: i64,
    last_presence_ms: Option<i64>,
    sockets: usize,
    frames_per_sec: u64,
    (batch_above, gap_ms): (usize, i64),
) -> i64 {
    let budget = broadcast_delay_ms(now_ms, last_presence_ms, sockets, frames_per_sec);
    match last_presence_ms {
        Some(last) if sockets > batch_above => {
            budget.max((last + gap_ms - now_ms).clamp(0, gap_ms))
        }
        _ => budget,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_are_paced_by_the_frame_budget() {
        // never broadcast, or long ago: at once
        assert_eq!(broadcast_delay_ms(1_000, None, 1000, 20_000), 0);
        assert_eq!(broadcast_delay_ms(1_000, Some(900), 1000, 20_000), 0);
        // 1,000 sockets at 20,000 frames/s: one broadcast per 50 ms
        assert_eq!(broadcast_delay_ms(1_000, Some(980), 1000, 20_000), 30);
        assert_eq!(broadcast_delay_ms(1_000, Some(1_000), 1000, 20_000), 50);
        // a small room barely waits; the cap holds for a huge one
        assert_eq!(broadcast_delay_ms(1_000, Some(1_000), 10, 20_000), 0);
        assert_eq!(broadcast_delay_ms(1_000, Some(1_000), 100, 20_000), 5);
        assert_eq!(
            broadcast_delay_ms(1_000, Some(1_000), 1_000_000, 20_000),
            MAX_BROADCAST_DELAY_MS
        );
        // a clock that went backwards never waits longer than one gap
        assert_eq!(broadcast_delay_ms(1_000, Some(5_000), 1000, 20_000), 50);
    }

    #[test]
    fn presence_in_a_large_room_waits_its_own_gap() {
        assert_eq!(
            presence_delay_ms(1_000, None, 1000, 20_000, (SMALL_ROOM, PRESENCE_GAP_MS)),
            0,
            "the first goes at once"
        );
        assert_eq!(
            presence_delay_ms(1_000, Some(900), 10, 20_000, (SMALL_ROOM, PRESENCE_GAP_MS)),
            0,
            "a small room never waits"
        );
        assert_eq!(
            presence_delay_ms(
                1_000,
                Some(900),
                1000,
                20_000,
                (SMALL_ROOM, PRESENCE_GAP_MS)
            ),
            150
        );
        assert_eq!(
            presence_delay_ms(
                1_300,
                Some(1_000),
                1000,
                20_000,
                (SMALL_ROOM, PRESENCE_GAP_MS)
            ),
            0
        );
    }
}
