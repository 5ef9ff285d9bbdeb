//! The tamper-evident audit chain of PDP (R-SEC-03, R-SHR-12).
//!
//! Every administrative action and every data access becomes an [`AuditEvent`]. Events form a
//! hash chain: each event's hash covers its own canonical encoding and the hash of the event
//! before it, so changing, removing or reordering any stored event breaks every later link.
//! A chain that an attacker recomputes end to end would still verify, so the platform also
//! signs periodic [`Checkpoint`]s (sequence number and hash) with an Ed25519 key that is kept
//! outside the database; the verifier checks those signatures too.
//!
//! This crate is pure apart from the [`appender`] module: it computes and checks hashes and
//! signatures and knows nothing about where events are stored. Storage crates call
//! [`chain_next`] inside the same transaction as the action they record, which is how the
//! platform guarantees that an action whose event cannot be written does not happen.

pub mod appender;

use std::fmt;

use ed25519_dalek::{Signer as _, Verifier as _};
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// The hash algorithm of a chain link. The choice is configuration; each event records its own
/// algorithm so that a chain can switch (for example to SM3 for a 密评 assessment) without
/// rewriting history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    #[default]
    Sha256,
    Sm3,
}

impl HashAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sm3 => "sm3",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sha256" | "sha-256" => Some(Self::Sha256),
            "sm3" => Some(Self::Sm3),
            _ => None,
        }
    }

    fn digest(self, parts: &[&[u8]]) -> [u8; 32] {
        fn run<D: Digest>(parts: &[&[u8]]) -> [u8; 32] {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            let out = d.finalize();
            let mut buf = [0u8; 32];
            buf.copy_from_slice(&out[..32]);
            buf
        }
        match self {
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sm3 => run::<sm3::Sm3>(parts),
        }
    }
}

/// The hash that precedes the first event of a chain: 32 zero bytes, in hex.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The outcome of the action an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Success => "成功",
            Self::Denied => "拒绝",
            Self::Failure => "失败",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failure => "failure",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failure => "failure",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "denied" => Some(Self::Denied),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// An event before it is placed in the chain: who did what to which object, why, and how it
/// ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// The account name, or `system` for the platform itself.
    pub actor: String,
    pub actor_id: Option<i64>,
    pub org_id: Option<i64>,
    /// The roles the actor acted with, comma separated.
    pub role: String,
    /// A dotted action name such as `org.create` or `auth.login`.
    pub action: String,
    /// The object acted on, such as `org:12`.
    pub object: String,
    pub purpose: String,
    pub outcome: Outcome,
    /// Hex SHA-256 of the request body (or the empty string when there was none).
    pub request_hash: String,
    /// Extra facts as compact JSON text; never secrets.
    pub detail: String,
}

impl NewEvent {
    /// An event by the platform itself.
    pub fn system(action: &str, object: &str) -> Self {
        Self {
            actor: "system".into(),
            actor_id: None,
            org_id: None,
            role: String::new(),
            action: action.into(),
            object: object.into(),
            purpose: String::new(),
            outcome: Outcome::Success,
            request_hash: String::new(),
            detail: String::new(),
        }
    }

    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn with_object(mut self, object: impl Into<String>) -> Self {
        self.object = object.into();
        self
    }
}

/// An event as stored: the fields of [`NewEvent`] plus its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    /// Microseconds since the Unix epoch, UTC.
    pub at_micros: i64,
    #[serde(flatten)]
    pub event: NewEvent,
    pub alg: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Appends `bytes` with a length prefix so that no two different field lists encode alike.
fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// The canonical byte encoding of an event's content, the input of its hash.
pub fn canonical(seq: i64, at_micros: i64, e: &NewEvent) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128 + e.detail.len());
    buf.extend_from_slice(b"pdp-audit-v1");
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&at_micros.to_be_bytes());
    put(&mut buf, e.actor.as_bytes());
    put(&mut buf, &e.actor_id.unwrap_or(-1).to_be_bytes());
    put(&mut buf, &e.org_id.unwrap_or(-1).to_be_bytes());
    put(&mut buf, e.role.as_bytes());
    put(&mut buf, e.action.as_bytes());
    put(&mut buf, e.object.as_bytes());
    put(&mut buf, e.purpose.as_bytes());
    put(&mut buf, e.outcome.as_str().as_bytes());
    put(&mut buf, e.request_hash.as_bytes());
    put(&mut buf, e.detail.as_bytes());
    buf
}

/// The hash of an event given its predecessor's hash (hex).
pub fn link_hash(alg: HashAlg, prev_hash: &str, seq: i64, at_micros: i64, e: &NewEvent) -> String {
    let body = canonical(seq, at_micros, e);
    hex_lower(&alg.digest(&[prev_hash.as_bytes(), &body]))
}

/// Lower-case hex of `bytes`, as every hash is stored. The `hex` crate's `encode` builds its
/// string a character at a time; this runs for several hashes on every data access.
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Written into a buffer of its final size, pairs at a time: no capacity check per digit.
    let mut out = vec![0u8; bytes.len() * 2];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
    // Only ASCII digits and letters were pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// The current end of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    pub fn genesis() -> Self {
        Self { seq: 0, hash: GENESIS_HASH.into() }
    }
}

/// Places `event` after `head`, returning the stored form. Sequence numbers start at 1.
pub fn chain_next(head: &ChainHead, alg: HashAlg, at_micros: i64, event: NewEvent) -> AuditEvent {
    let seq = head.seq + 1;
    let hash = link_hash(alg, &head.hash, seq, at_micros, &event);
    AuditEvent { seq, at_micros, event, alg: alg.as_str().into(), prev_hash: head.hash.clone(), hash }
}

/// Hex SHA-256 of a request or response body, as recorded in events.
pub fn body_hash(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    hex_lower(&HashAlg::Sha256.digest(&[bytes]))
}

/// Why a chain does not verify. `seq` names the first event that cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub seq: i64,
    pub reason: BrokenReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokenReason {
    /// The stored hash is not the hash of the stored content: the event was altered.
    HashMismatch,
    /// The event does not point at its predecessor's hash: an event before it was altered,
    /// removed or inserted.
    PrevMismatch,
    /// Sequence numbers are not consecutive: an event is missing.
    Gap { expected: i64 },
    /// The event names a hash algorithm this build does not know.
    UnknownAlg(String),
    /// A signed checkpoint does not match the chain or its signature is invalid.
    Checkpoint(String),
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            BrokenReason::HashMismatch => write!(
                f,
                "event {} was altered: its stored hash does not match its content / 事件 {} 已被篡改：哈希与内容不符",
                self.seq, self.seq
            ),
            BrokenReason::PrevMismatch => write!(
                f,
                "event {} does not link to the event before it / 事件 {} 与前一事件的链接断开",
                self.seq, self.seq
            ),
            BrokenReason::Gap { expected } => {
                write!(f, "event {expected} is missing (next stored event is {}) / 事件 {expected} 缺失", self.seq)
            }
            BrokenReason::UnknownAlg(a) => {
                write!(f, "event {} uses unknown hash algorithm {a:?} / 未知哈希算法", self.seq)
            }
            BrokenReason::Checkpoint(why) => {
                write!(f, "checkpoint at event {}: {why} / 签名检查点不符", self.seq)
            }
        }
    }
}

/// Incremental verifier: feed events in sequence order, page by page, then the checkpoints.
#[derive(Debug)]
pub struct Verifier {
    head: ChainHead,
    /// Hashes at checkpointed sequence numbers, recorded while walking the chain.
    wanted: std::collections::HashMap<i64, Option<String>>,
    count: u64,
}

impl Verifier {
    /// `checkpoint_seqs` lists the sequence numbers of the checkpoints that will be checked, so
    /// the verifier keeps only those hashes and runs in constant memory otherwise.
    pub fn new(checkpoint_seqs: impl IntoIterator<Item = i64>) -> Self {
        Self { head: ChainHead::genesis(), wanted: checkpoint_seqs.into_iter().map(|s| (s, None)).collect(), count: 0 }
    }

    pub fn push(&mut self, e: &AuditEvent) -> Result<(), Broken> {
        let expected = self.head.seq + 1;
        if e.seq != expected {
            return Err(Broken { seq: e.seq, reason: BrokenReason::Gap { expected } });
        }
        let Some(alg) = HashAlg::parse(&e.alg) else {
            return Err(Broken { seq: e.seq, reason: BrokenReason::UnknownAlg(e.alg.clone()) });
        };
        if e.prev_hash != self.head.hash {
            return Err(Broken { seq: e.seq, reason: BrokenReason::PrevMismatch });
        }
        if link_hash(alg, &e.prev_hash, e.seq, e.at_micros, &e.event) != e.hash {
            return Err(Broken { seq: e.seq, reason: BrokenReason::HashMismatch });
        }
        if let Some(slot) = self.wanted.get_mut(&e.seq) {
            *slot = Some(e.hash.clone());
        }
        self.head = ChainHead { seq: e.seq, hash: e.hash.clone() };
        self.count += 1;
        Ok(())
    }

    /// Checks the checkpoints against the walked chain and the trusted public key.
    pub fn finish(self, checkpoints: &[Checkpoint], key: Option<&PublicKey>) -> Result<Report, Broken> {
        let mut checked = 0;
        for c in checkpoints {
            let bad = |why: &str| Broken { seq: c.seq, reason: BrokenReason::Checkpoint(why.into()) };
            match self.wanted.get(&c.seq) {
                Some(Some(h)) if *h == c.hash => {}
                Some(Some(_)) => return Err(bad("hash differs from the chain / 哈希与链不符")),
                _ => return Err(bad("the chain has no such event / 链中无此事件")),
            }
            if let Some(key) = key {
                if !key.verify(c) {
                    return Err(bad("signature invalid / 签名无效"));
                }
                checked += 1;
            }
        }
        Ok(Report { events: self.count, head: self.head, checkpoints_verified: checked })
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub events: u64,
    pub head: ChainHead,
    pub checkpoints_verified: usize,
}

/// A signed statement that the chain had `hash` at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at_micros: i64,
    /// Hex Ed25519 public key of the signer.
    pub public_key: String,
    /// Hex Ed25519 signature over [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    pub fn message(seq: i64, hash: &str, at_micros: i64) -> Vec<u8> {
        format!("pdp-audit-checkpoint-v1\n{seq}\n{hash}\n{at_micros}").into_bytes()
    }
}

/// The checkpoint signing key. Its `Debug` never shows the secret.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public={}, secret=***)", self.public().to_hex())
    }
}

impl SigningKey {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// Parses the hex seed as kept in the key file.
    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes: [u8; 32] = hex::decode(s.trim()).ok()?.try_into().ok()?;
        Some(Self::from_seed(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn checkpoint(&self, head: &ChainHead, at_micros: i64) -> Checkpoint {
        let sig = self.0.sign(&Checkpoint::message(head.seq, &head.hash, at_micros));
        Checkpoint {
            seq: head.seq,
            hash: head.hash.clone(),
            at_micros,
            public_key: self.public().to_hex(),
            signature: hex::encode(sig.to_bytes()),
        }
    }
}

/// The public half of the checkpoint key, trusted by the verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes: [u8; 32] = hex::decode(s.trim()).ok()?.try_into().ok()?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok().map(Self)
    }

    /// Whether `c` carries a valid signature by this key.
    pub fn verify(&self, c: &Checkpoint) -> bool {
        let Some(bytes) = hex::decode(&c.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        self.0.verify(&Checkpoint::message(c.seq, &c.hash, c.at_micros), &sig).is_ok()
    }
}

#[cfg(test)]
mod hex_tests {
    /// covers: R-SEC-03 (hashes are written exactly as the `hex` crate writes them, so stored
    /// chains still verify)
    #[test]
    fn hex_lower_matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255u8).chain([0, 15, 16, 255]).collect();
        assert_eq!(super::hex_lower(&bytes), hex::encode(&bytes));
        assert_eq!(super::hex_lower(&[]), "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: i64) -> NewEvent {
        NewEvent {
            actor: format!("user{i}"),
            actor_id: Some(i),
            org_id: None,
            role: "platform_admin".into(),
            action: "org.create".into(),
            object: format!("org:{i}"),
            purpose: "测试".into(),
            outcome: Outcome::Success,
            request_hash: body_hash(b"{}"),
            detail: String::new(),
        }
    }

    fn chain(n: i64, alg: HashAlg) -> Vec<AuditEvent> {
        let mut head = ChainHead::genesis();
        (1..=n)
            .map(|i| {
                let e = chain_next(&head, alg, 1_700_000_000_000_000 + i, ev(i));
                head = ChainHead { seq: e.seq, hash: e.hash.clone() };
                e
            })
            .collect()
    }

    fn verify(events: &[AuditEvent]) -> Result<Report, Broken> {
        let mut v = Verifier::new([]);
        for e in events {
            v.push(e)?;
        }
        v.finish(&[], None)
    }

    /// covers: R-SEC-03 (an untouched chain verifies with both algorithms)
    #[test]
    fn intact_chain_verifies() {
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            let r = verify(&chain(50, alg)).unwrap();
            assert_eq!(r.events, 50);
        }
        assert_ne!(chain(1, HashAlg::Sha256)[0].hash, chain(1, HashAlg::Sm3)[0].hash);
    }

    /// covers: R-SEC-03 (any altered field is found at the altered event)
    #[test]
    fn altered_event_is_named() {
        let mut c = chain(20, HashAlg::Sha256);
        c[6].event.object.push('x');
        assert_eq!(verify(&c).unwrap_err(), Broken { seq: 7, reason: BrokenReason::HashMismatch });
        let mut c = chain(20, HashAlg::Sm3);
        c[9].event.outcome = Outcome::Denied;
        assert_eq!(verify(&c).unwrap_err().seq, 10);
    }

    /// covers: R-SEC-03 (removed and reordered events are found)
    #[test]
    fn removed_event_is_found() {
        let mut c = chain(10, HashAlg::Sha256);
        c.remove(3);
        assert_eq!(verify(&c).unwrap_err(), Broken { seq: 5, reason: BrokenReason::Gap { expected: 4 } });
    }

    /// covers: R-SEC-03 (a recomputed chain is caught by the signed checkpoint)
    #[test]
    fn checkpoints_catch_recomputed_chain() {
        let key = SigningKey::from_seed([7; 32]);
        let c = chain(10, HashAlg::Sha256);
        let cp = key.checkpoint(&ChainHead { seq: 5, hash: c[4].hash.clone() }, 1);
        let mut v = Verifier::new([5]);
        c.iter().for_each(|e| v.push(e).unwrap());
        assert_eq!(v.finish(std::slice::from_ref(&cp), Some(&key.public())).unwrap().checkpoints_verified, 1);

        // An attacker rewrites event 3 and recomputes every later hash: the links are
        // consistent again but the checkpoint no longer matches.
        let mut forged: Vec<NewEvent> = c.iter().map(|e| e.event.clone()).collect();
        forged[2].actor = "someone-else".into();
        let mut head = ChainHead::genesis();
        let mut v = Verifier::new([5]);
        for (i, e) in forged.into_iter().enumerate() {
            let ae = chain_next(&head, HashAlg::Sha256, c[i].at_micros, e);
            head = ChainHead { seq: ae.seq, hash: ae.hash.clone() };
            v.push(&ae).unwrap();
        }
        assert_eq!(v.finish(std::slice::from_ref(&cp), Some(&key.public())).unwrap_err().seq, 5);

        // A checkpoint signed by another key is rejected.
        let other = SigningKey::from_seed([8; 32]);
        let mut v = Verifier::new([5]);
        c.iter().for_each(|e| v.push(e).unwrap());
        assert!(v.finish(&[cp], Some(&other.public())).is_err());
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }
}
