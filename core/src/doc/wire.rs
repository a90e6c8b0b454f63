//! The y-protocols messages a document socket carries, one per binary frame, in lib0
//! encoding: `0` sync (`0` step 1 with a state vector, `1` step 2 and `2` update, each with an
//! update), `1` awareness, `2` auth (only ever sent by the server: permission denied), `3`
//! query awareness. What y-websocket's server and `WebsocketProvider` exchange.

use std::collections::BTreeMap;

use super::scan::{Reader, ScanError};

pub const MESSAGE_SYNC: u64 = 0;
pub const MESSAGE_AWARENESS: u64 = 1;
pub const MESSAGE_AUTH: u64 = 2;
pub const MESSAGE_QUERY_AWARENESS: u64 = 3;
pub const SYNC_STEP_1: u64 = 0;
pub const SYNC_STEP_2: u64 = 1;
pub const SYNC_UPDATE: u64 = 2;

/// One message from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocMessage<'a> {
    /// "Here is what I have": a state vector; the answer is step 2.
    SyncStep1(&'a [u8]),
    /// What the other side lacked, in answer to its step 1: an update.
    SyncStep2(&'a [u8]),
    /// A live edit: an update.
    Update(&'a [u8]),
    /// Awareness states (cursors, names), by client id.
    Awareness(Awareness),
    QueryAwareness,
}

/// One awareness message: for each client id, its clock and its state as JSON (`null`: gone).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Awareness {
    pub states: BTreeMap<u64, (u64, String)>,
}

/// A frame that is not a message a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl From<ScanError> for WireError {
    fn from(error: ScanError) -> Self {
        match error {
            ScanError::Malformed(what) => WireError(what.to_string()),
            ScanError::Refused(what) => WireError(what),
        }
    }
}

/// Reads one frame as one message; nothing may follow it.
pub fn parse(frame: &[u8]) -> Result<DocMessage<'_>, WireError> {
    let mut reader = Reader {
        bytes: frame,
        at: 0,
    };
    let message = match reader.var_uint()? {
        MESSAGE_SYNC => match reader.var_uint()? {
            SYNC_STEP_1 => DocMessage::SyncStep1(reader.bytes()?),
            SYNC_STEP_2 => DocMessage::SyncStep2(reader.bytes()?),
            SYNC_UPDATE => DocMessage::Update(reader.bytes()?),
            other => return Err(WireError(format!("sync message type {other}"))),
        },
        MESSAGE_AWARENESS => DocMessage::Awareness(awareness(reader.bytes()?)?),
        MESSAGE_QUERY_AWARENESS => DocMessage::QueryAwareness,
        other => return Err(WireError(format!("message type {other}"))),
    };
    if reader.at != frame.len() {
        return Err(WireError("bytes after the message".into()));
    }
    Ok(message)
}

/// An awareness update: a count, then per client its id, clock and state JSON.
fn awareness(bytes: &[u8]) -> Result<Awareness, WireError> {
    let mut reader = Reader { bytes, at: 0 };
    let mut states = BTreeMap::new();
    for _ in 0..reader.var_uint()? {
        let client = reader.var_uint()?;
        let clock = reader.var_uint()?;
        let state = reader.string()?.to_owned();
        states.insert(client, (clock, state));
    }
    if reader.at != bytes.len() {
        return Err(WireError("bytes after the awareness states".into()));
    }
    Ok(Awareness { states })
}

/// lib0's writer.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn var_uint(mut self, mut value: u64) -> Self {
        while value >= 0x80 {
            self.0.push((value as u8 & 0x7F) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
        self
    }

    fn bytes(self, bytes: &[u8]) -> Self {
        let mut this = self.var_uint(bytes.len() as u64);
        this.0.extend_from_slice(bytes);
        this
    }
}

pub fn sync_step_1(state_vector: &[u8]) -> Vec<u8> {
    sync(SYNC_STEP_1, state_vector)
}

pub fn sync_step_2(update: &[u8]) -> Vec<u8> {
    sync(SYNC_STEP_2, update)
}

pub fn update(update: &[u8]) -> Vec<u8> {
    sync(SYNC_UPDATE, update)
}

fn sync(kind: u64, payload: &[u8]) -> Vec<u8> {
    Writer::default()
        .var_uint(MESSAGE_SYNC)
        .var_uint(kind)
        .bytes(payload)
        .0
}

/// An awareness message carrying `states`.
pub fn awareness_message(states: &Awareness) -> Vec<u8> {
    let mut inner = Writer::default().var_uint(states.states.len() as u64);
    for (client, (clock, state)) in &states.states {
        inner = inner
            .var_uint(*client)
            .var_uint(*clock)
            .bytes(state.as_bytes());
    }
    Writer::default()
        .var_uint(MESSAGE_AWARENESS)
        .bytes(&inner.0)
        .0
}

/// y-protocols' permission-denied message (`auth`, denied, with the reason).
pub fn permission_denied(reason: &str) -> Vec<u8> {
    Writer::default()
        .var_uint(MESSAGE_AUTH)
        .var_uint(0)
        .bytes(reason.as_bytes())
        .0
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::sync::{Awareness as YAwareness, Message, SyncMessage};
    use yrs::updates::decoder::Decode;
    use yrs::updates::encoder::Encode;
    use yrs::{Doc, StateVector};

    #[test]
    fn reads_what_yrs_writes_and_writes_what_yrs_reads() {
        let sv = StateVector::default().encode_v1();
        let step1 = Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1();
        assert_eq!(parse(&step1).unwrap(), DocMessage::SyncStep1(&sv));
        assert_eq!(sync_step_1(&sv), step1);
        let update_bytes = vec![1, 2, 3];
        let message = Message::Sync(SyncMessage::Update(update_bytes.clone())).encode_v1();
        assert_eq!(parse(&message).unwrap(), DocMessage::Update(&update_bytes));
        assert_eq!(update(&update_bytes), message);
        let step2 = Message::Sync(SyncMessage::SyncStep2(update_bytes.clone())).encode_v1();
        assert_eq!(sync_step_2(&update_bytes), step2);
        assert_eq!(
            Message::decode_v1(&permission_denied("no")).unwrap(),
            Message::Auth(Some("no".into()))
        );
        assert_eq!(parse(&[3]).unwrap(), DocMessage::QueryAwareness);
    }

    #[test]
    fn awareness_round_trips_with_yrs() {
        let mut awareness = YAwareness::new(Doc::with_client_id(42));
        awareness.set_local_state_raw(r#"{"user":{"name":"Ana"}}"#);
        let message = Message::Awareness(awareness.update().unwrap()).encode_v1();
        match parse(&message).unwrap() {
            DocMessage::Awareness(states) => {
                let (clock, state) = &states.states[&42];
                assert_eq!(state, r#"{"user":{"name":"Ana"}}"#);
                assert!(*clock >= 1);
                assert_eq!(awareness_message(&states), message);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn anything_else_is_refused_and_never_panics() {
        for frame in [
            &[][..],
            &[2, 0, 0][..],
            &[0, 7, 0][..],
            &[0, 2, 5, 1][..],
            &[3, 0][..],
            &[1, 3, 1, 42][..],
            &[9][..],
        ] {
            assert!(parse(frame).is_err(), "{frame:?}");
        }
    }
}
