//! Secrets: argon2id password hashes (crate defaults: 19 MiB, t=2, p=1) computed at most
//! [`hash_slots`] at a time, so a login flood cannot exhaust memory; opaque bearer tokens
//! stored only as SHA-256.

use std::sync::{Condvar, Mutex, OnceLock};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use data_encoding::HEXLOWER;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Argon2 hashes computed at once: one per core.
fn hash_slots() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// A counting semaphore for blocking code.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct SlotGuard(&'static Slots);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *free += 1;
        self.0.freed.notify_one();
    }
}

fn acquire_slot() -> SlotGuard {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    let slots =
        SLOTS.get_or_init(|| Slots { free: Mutex::new(hash_slots()), freed: Condvar::new() });
    let mut free = slots.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    while *free == 0 {
        free = slots.freed.wait(free).unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    *free -= 1;
    SlotGuard(slots)
}

/// Hashes a password (PHC string). Blocks while every hashing slot is busy; call it from a
/// blocking thread, never inside a database transaction.
pub(crate) fn hash_password(password: &str) -> Result<String, Error> {
    let _slot = acquire_slot();
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Hashing(e.to_string()))
}

/// Whether `password` matches `hash`. Same cost whether or not it matches.
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    let _slot = acquire_slot();
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash no password matches, verified against for unknown usernames so that they cost what
/// a wrong password does.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 32];
        let _ = getrandom::fill(&mut random);
        hash_password(&HEXLOWER.encode(&random)).unwrap_or_default()
    })
}

/// A new bearer token: `dh_` and 64 hex digits (256 random bits).
pub(crate) fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Hashing(format!("no randomness: {e}")))?;
    Ok(format!("dh_{}", HEXLOWER.encode(&bytes)))
}

/// 120 random bits as 24 base32 characters.
pub(crate) fn random_password() -> Result<String, Error> {
    let mut bytes = [0u8; 15];
    getrandom::fill(&mut bytes).map_err(|e| Error::Hashing(format!("no randomness: {e}")))?;
    Ok(data_encoding::BASE32_NOPAD.encode(&bytes))
}

/// The stored form of a token.
pub(crate) fn token_hash(token: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("anything", decoy_hash()));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
