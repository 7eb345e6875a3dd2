//! Standard Webhooks 1.0 signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`, keyed by the base64-decoded part of a `whsec_` secret;
//! several signatures (a rotation's two secrets) space separated.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::Secret;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

const PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A secret that is not `whsec_` and base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is whsec_ and base64")]
pub struct BadSecret;

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> Secret {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    Secret(format!("{PREFIX}{}", STANDARD.encode(bytes)))
}

fn key(secret: &Secret) -> Result<Vec<u8>, BadSecret> {
    let b64 = secret.0.strip_prefix(PREFIX).ok_or(BadSecret)?;
    let bytes = STANDARD.decode(b64).map_err(|_| BadSecret)?;
    if bytes.is_empty() {
        return Err(BadSecret);
    }
    Ok(bytes)
}

/// One `v1,` signature of a message.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> Result<String, BadSecret> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).map_err(|_| BadSecret)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The three headers of a message signed with each of `secrets`.
pub fn headers(
    secrets: &[&Secret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<[(&'static str, String); 3], BadSecret> {
    let signatures: Vec<String> = secrets.iter().map(|s| sign(s, id, timestamp, body)).collect::<Result<_, _>>()?;
    Ok([
        (HEADER_ID, id.to_owned()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_SIGNATURE, signatures.join(" ")),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference implementations' test vector (libraries/rust, libraries/python of
    // github.com/standard-webhooks/standard-webhooks).
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    #[test]
    fn signs_the_reference_vector() {
        let s = Secret(SECRET.into());
        assert_eq!(sign(&s, ID, TS, BODY).unwrap(), "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        // Any other id, time or body signs differently (the reference's "no verify" signature).
        assert_ne!(sign(&s, ID, TS + 1, BODY).unwrap(), "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        assert_ne!(sign(&s, ID, TS, b"{}").unwrap(), "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=");
    }

    #[test]
    fn two_secrets_give_two_space_separated_signatures() {
        let (a, b) = (Secret(SECRET.into()), new_secret());
        let [(_, id), (_, ts), (_, sig)] = headers(&[&a, &b], ID, TS, BODY).unwrap();
        assert_eq!((id.as_str(), ts.as_str()), (ID, "1649367553"));
        let parts: Vec<&str> = sig.split(' ').collect();
        assert_eq!(parts, [sign(&a, ID, TS, BODY).unwrap(), sign(&b, ID, TS, BODY).unwrap()]);
    }

    #[test]
    fn new_secrets_are_whsec_and_32_bytes_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.0.starts_with("whsec_") && a != b);
        assert_eq!(key(&a).unwrap().len(), 32);
        for bad in ["C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_", "whsec_!!!"] {
            assert_eq!(key(&Secret(bad.into())), Err(BadSecret), "{bad}");
        }
    }
}
