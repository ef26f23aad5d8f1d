//! The embedded default database: what the library detects with nothing
//! downloaded.
//!
//! It holds the EICAR anti-virus test file twice over, the way ClamAV's own
//! databases do: as a hash of the exact 68-byte file
//! (`Win.Test.EICAR_HDB-1`, the name clamscan prints with the official
//! database) and as a body signature at offset 0
//! (`Eicar-Test-Signature`), which also catches the file followed by the
//! trailing whitespace the EICAR specification allows. The test string is
//! assembled from pieces at run time, so that no file in the repository, and
//! no constant in the compiled library, is itself the test file.
//!
//! The attachment-policy heuristics ([`super::policy::Policy`]) are the
//! other half of the defaults; they are code, not signatures.

use md5::{Digest, Md5};

use super::db::{LoadError, Loader};

/// The EICAR test string, in pieces.
const PIECES: [&str; 4] = [
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
    "EICAR-STANDARD-",
    "ANTIVIRUS-TEST-",
    "FILE!$H+H*",
];

/// Loads the default signatures into `loader` as official ones (no
/// `.UNOFFICIAL` suffix).
pub fn load(loader: &mut Loader) -> Result<(), LoadError> {
    let eicar: Vec<u8> = PIECES.concat().into_bytes();
    let md5 = hex(&Md5::digest(&eicar));
    let hdb = format!("{md5}:{}:Win.Test.EICAR_HDB-1\n", eicar.len());
    let ndb = format!("Eicar-Test-Signature:0:0:{}\n", hex(&eicar));
    loader.load_official("libfilter-default.hdb", hdb.as_bytes())?;
    loader.load_official("libfilter-default.ndb", ndb.as_bytes())?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pieces_make_the_68_byte_test_string() {
        let s = super::PIECES.concat();
        assert_eq!(s.len(), 68);
        assert!(s.is_ascii());
        assert!(s.starts_with("X5O") && s.ends_with("H+H*"));
    }
}
