//! The bearer-token check. The function is configured with the token's SHA-256 only; a
//! request's token is hashed and the digests are compared in constant time.

use lambda_http::http::HeaderMap;
use lambda_http::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of the accepted token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// Parses 64 hex digits. The error never repeats the input (it may be a token pasted by
    /// mistake).
    pub fn from_hex(hex: &str) -> Result<TokenDigest, String> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(format!(
                "expected 64 hex digits (a SHA-256 digest), got {} characters",
                hex.chars().count()
            ));
        }
        let mut digest = [0u8; 32];
        for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
            let nibble = |b: u8| (b as char).to_digit(16);
            match (nibble(pair[0]), nibble(pair[1])) {
                // Both digits are below 16, so the byte cannot overflow.
                (Some(hi), Some(lo)) => *out = u8::try_from(hi * 16 + lo).unwrap_or_default(),
                _ => return Err("expected 64 hex digits (a SHA-256 digest)".to_owned()),
            }
        }
        Ok(TokenDigest(digest))
    }

    /// The digest of `token`.
    pub fn of(token: &[u8]) -> TokenDigest {
        TokenDigest(Sha256::digest(token).into())
    }

    /// Whether `token` hashes to this digest; the comparison takes the same time wherever
    /// the digests differ.
    pub fn matches(&self, token: &[u8]) -> bool {
        TokenDigest::of(token).0.ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(<redacted>)")
    }
}

/// Whether the request carries `Authorization: Bearer <token>` with the right token.
pub fn authorized(headers: &HeaderMap, expected: &TokenDigest) -> bool {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let scheme = b"bearer ";
    if value.len() <= scheme.len() || !value[..scheme.len()].eq_ignore_ascii_case(scheme) {
        return false;
    }
    let token = value[scheme.len()..].trim_ascii();
    !token.is_empty() && expected.matches(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    fn headers(authorization: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        h
    }

    #[test]
    fn the_digest_of_test_parses_from_sha256sum_output() {
        let d = TokenDigest::from_hex(
            "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        )
        .unwrap();
        assert_eq!(d, TokenDigest::of(b"test"));
        assert!(TokenDigest::from_hex("zz").is_err());
        assert!(TokenDigest::from_hex(&"g".repeat(64)).is_err());
    }

    #[test]
    fn only_the_bearer_scheme_with_the_right_token_passes() {
        let d = TokenDigest::of(b"s3cret");
        assert!(authorized(&headers("Bearer s3cret"), &d));
        assert!(authorized(&headers("bearer s3cret"), &d));
        assert!(!authorized(&headers("Bearer wrong"), &d));
        assert!(!authorized(&headers("Basic s3cret"), &d));
        assert!(!authorized(&headers("Bearer "), &d));
        assert!(!authorized(&HeaderMap::new(), &d));
    }
}
