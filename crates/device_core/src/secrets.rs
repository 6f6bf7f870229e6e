//! Device identities and secrets.

use data_encoding::HEXLOWER;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Error;

fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes)
}

/// A fresh random UUID (v4), lowercase and hyphenated.
pub(crate) fn new_uuid() -> Result<String, Error> {
    Ok(uuid::Builder::from_random_bytes(random::<16>()?).into_uuid().to_string())
}

/// A fresh device secret: `dhd_` and 64 hex digits (256 random bits).
pub(crate) fn new_secret() -> Result<String, Error> {
    Ok(format!("dhd_{}", HEXLOWER.encode(&random::<32>()?)))
}

/// The stored form of a secret.
pub(crate) fn hash(secret: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored`, in time independent of where they differ.
pub(crate) fn matches(secret: &str, stored: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_their_hash() {
        let secret = new_secret().unwrap();
        let stored = hash(&secret);
        assert!(matches(&secret, &stored));
        assert!(!matches(&new_secret().unwrap(), &stored));
        assert!(!matches(&secret, ""));
    }

    #[test]
    fn uuids_are_lowercase_v4() {
        let id = new_uuid().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_lowercase());
        assert_eq!(&id[14..15], "4");
    }
}
