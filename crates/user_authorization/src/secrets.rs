//! Secrets: argon2id password hashes (12 MiB, t=3, p=1) computed at most [`hash_slots`] at a
//! time in reused working memory, so a login flood cannot exhaust memory; opaque bearer tokens stored only as SHA-256.

use std::sync::{Condvar, Mutex, OnceLock};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::phc::{Output, ParamsString, Salt},
};
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

/// Hashes a password (PHC string, argon2id at [`new_hash_params`]). Blocks while every
/// hashing slot is busy; call it from a blocking thread, never inside a database transaction.
pub(crate) fn hash_password(password: &str) -> Result<String, Error> {
    let _slot = acquire_slot();
    let failed = |e: &dyn std::fmt::Display| Error::Hashing(e.to_string());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| failed(&e))?;
    let params = new_hash_params()?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let phc_params = ParamsString::try_from(&params).map_err(|e| failed(&e))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::default(), params);
    let output = compute(&argon2, password, &salt, output_len).map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::default().into()),
        params: phc_params,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Argon2's working memory, one buffer per hashing slot, reused: a fresh allocation per
/// hash left the allocator holding one copy per hash ever run at once, hundreds of MiB under a
/// burst of logins. At most [`hash_slots`] buffers ever exist.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Cost of new hashes: OWASP's argon2id setting of 12 MiB, 3 passes, 1 lane (as strong as its
/// 19 MiB, 2 passes), so the hashing slots' memory stays small. Stored hashes carry their own
/// cost, so hashes made with other settings still verify.
fn new_hash_params() -> Result<Params, Error> {
    Params::new(12 * 1024, 3, 1, None).map_err(|e| Error::Hashing(e.to_string()))
}

/// Whether `password` matches `hash` (a PHC string). Same cost whether or not it matches.
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    let _slot = acquire_slot();
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    let (Ok(params), Ok(algorithm)) =
        (Params::try_from(&parsed), Algorithm::new(parsed.algorithm.as_str()))
    else {
        return false;
    };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let hashed = compute(&argon2, password, salt, expected.len());
    // `Output` compares in constant time.
    hashed.is_ok_and(|computed| Output::new(&computed).is_ok_and(|c| &c == expected))
}

/// Argon2 of `password` with `salt`, `len` bytes long, in this thread's reused memory.
fn compute(
    argon2: &Argon2<'_>,
    password: &str,
    salt: &[u8],
    len: usize,
) -> argon2::Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    let needed = argon2.params().block_count();
    let lock = || MEMORY.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut blocks = lock().pop().unwrap_or_default();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let memory = &mut blocks[..needed];
    let hashed =
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut *memory);
    // Leave nothing derived from the password behind, as argon2 does with its own memory.
    memory.fill(Block::default());
    lock().push(blocks);
    hashed.map(|()| out)
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
        assert!(hash.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("anything", decoy_hash()));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(!verify_password("correct horse", &hash.replace("$argon2id$", "$argon2i$")));
    }

    #[test]
    fn hashes_agree_with_the_argon2_crate() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let theirs = Argon2::default().hash_password(b"old password").unwrap().to_string();
        assert!(verify_password("old password", &theirs));
        assert!(!verify_password("old passwore", &theirs));
        let ours = hash_password("new password").unwrap();
        assert!(Argon2::default().verify_password(b"new password", ours.as_str()).is_ok());
        assert_ne!(ours, hash_password("new password").unwrap(), "salted");
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
