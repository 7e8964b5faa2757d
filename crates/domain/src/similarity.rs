//! Similarity checks behind the warnings of an import preview (SPEC §3.1, §1): department, group
//! and role names that are near-duplicates of existing ones ("Sales" vs "Sale", "R&D" vs
//! "R & D"), and usernames that imitate an existing one with letters of another script
//! (Cyrillic `аlice` vs Latin `alice`). Both only warn; neither makes a row fail. No I/O: the
//! engine brings the existing names and keys.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::names::EntityName;
use crate::text::fold_key;

/// The form in which two group, role or department names are compared for near-duplication:
/// caseless (NFKC + lowercase, like [`EntityName::key`]), accents removed (NFD, combining
/// diacritical marks dropped; `ß` → `ss`, `æ` → `ae`, `œ` → `oe`, and `ø ł đ ı`, which Unicode
/// does not decompose, → `o l d i`), spaces, punctuation and symbols removed, except `+` and `#`,
/// which tell "C++" from "C#". Marks that are part of a letter in their script (Indic vowel signs,
/// viramas) are kept. "Customer-Care", "customer care" and "CUSTOMER CARE" all give
/// `customercare`; "R & D" and "R&D" give `rd`; "Venté" gives `vente`.
///
/// Two different names with the same skeleton are near-duplicates.
pub fn name_skeleton(name: &str) -> String {
    Skeleton::of(name).chars.into_iter().collect()
}

/// True when `a` and `b` are different names that an administrator would probably regret
/// having both, so the preview should warn. The rule:
///
/// 1. Names that are not valid entity names (empty, a comma, …) never match, and names whose
///    caseless keys are equal (`Sales`, `sales `, `ＳＡＬＥＳ`) are the *same* entity, not
///    near-duplicates: false.
/// 2. Equal non-empty [`name_skeleton`]s: true ("R&D" / "R & D", "Customer-Care" /
///    "Customer Care", "Vente" / "Venté", "Straße" / "Strasse").
/// 3. Otherwise true only when the skeletons are both at least 4 characters long and at
///    Damerau–Levenshtein distance 1 (one character inserted, deleted, substituted, or two
///    neighbours swapped: "Sales" / "Sale", "Marketing" / "Marketting", "Slaes" / "Sales"),
///    **unless** the edit looks like a deliberate series. It does when the edited characters
///    include a digit (or a CJK numeral), or when they lie in a word — a run of the name between
///    spaces or punctuation — that is shorter than 3 characters or contains a digit. So
///    "Team 1" / "Team 2", "Team 9" / "Team 10", "Team" / "Team 1", "Team A" / "Team B",
///    "Support EU" / "Support US", "Tier I" / "Tier II", "B2B Sales" / "B2C Sales" and
///    "Floor 2A" / "Floor 2B" do not match, and neither do short names like "IT" / "IS".
pub fn near_duplicate(a: &str, b: &str) -> bool {
    let (Ok(name_a), Ok(name_b)) = (EntityName::parse(a), EntityName::parse(b)) else {
        return false;
    };
    if name_a.key() == name_b.key() {
        return false;
    }
    let sa = Skeleton::of(name_a.as_str());
    let sb = Skeleton::of(name_b.as_str());
    if sa.chars.is_empty() || sb.chars.is_empty() {
        return false;
    }
    if sa.chars == sb.chars {
        return true;
    }
    if sa.chars.len() < MIN_FUZZY_CHARS
        || sb.chars.len() < MIN_FUZZY_CHARS
        || sa.chars.len().abs_diff(sb.chars.len()) > 1
    {
        return false;
    }
    let text_a: String = sa.chars.iter().collect();
    let text_b: String = sb.chars.iter().collect();
    if strsim::damerau_levenshtein(&text_a, &text_b) != 1 {
        return false;
    }
    !deliberate_edit(&sa, &sb)
}

/// Skeletons shorter than this only match when equal: one letter apart, "IT" and "IS", or "Ops"
/// and "Op", are too often different things.
const MIN_FUZZY_CHARS: usize = 4;

/// Words shorter than this are labels ("A", "EU", "II"), where one letter is the whole point.
const MIN_WORD_CHARS: usize = 3;

/// A name skeleton with, for each character, the word of the name it came from.
struct Skeleton {
    chars: Vec<char>,
    /// Index into `words` of each character.
    word: Vec<usize>,
    words: Vec<Word>,
}

#[derive(Default)]
struct Word {
    chars: usize,
    has_digit: bool,
}

impl Skeleton {
    fn of(name: &str) -> Skeleton {
        let mut sk = Skeleton {
            chars: Vec::with_capacity(name.len()),
            word: Vec::with_capacity(name.len()),
            words: Vec::new(),
        };
        // A separator seen since the last kept character: the next one starts a new word.
        let mut boundary = true;
        for c in fold_key(name).nfd() {
            if is_diacritic(c) {
                continue;
            }
            let keep = c.is_alphanumeric() || is_combining_mark(c) || matches!(c, '+' | '#');
            if !keep {
                boundary = true;
                continue;
            }
            if boundary {
                sk.words.push(Word::default());
                boundary = false;
            }
            match fold_letter(c) {
                Some(folded) => folded.chars().for_each(|f| sk.push(f)),
                None => sk.push(c),
            }
        }
        sk
    }

    fn push(&mut self, c: char) {
        let index = self.words.len() - 1;
        let word = &mut self.words[index];
        word.chars += 1;
        word.has_digit |= is_digit_like(c);
        self.chars.push(c);
        self.word.push(index);
    }

    /// True when the character at `pos` belongs to a label-like word: short, or with a digit.
    fn in_label_word(&self, pos: usize) -> bool {
        let word = &self.words[self.word[pos]];
        word.chars < MIN_WORD_CHARS || word.has_digit
    }
}

/// True when the one edit between two skeletons at distance 1 looks like a deliberate series
/// (see [`near_duplicate`]). The edit lies between the longest common prefix and the longest
/// common suffix that does not overlap it; where an insertion could sit at several places of a
/// run of equal letters, that picks one of them, which is all the rule needs.
fn deliberate_edit(a: &Skeleton, b: &Skeleton) -> bool {
    let (ca, cb) = (&a.chars, &b.chars);
    let shorter = ca.len().min(cb.len());
    let prefix = ca.iter().zip(cb).take_while(|(x, y)| x == y).count();
    let suffix = ca
        .iter()
        .rev()
        .zip(cb.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
        .min(shorter - prefix);
    let touched = |sk: &Skeleton| {
        (prefix..sk.chars.len() - suffix)
            .any(|pos| is_digit_like(sk.chars[pos]) || sk.in_label_word(pos))
    };
    touched(a) || touched(b)
}

/// Digits of any script, and the CJK numerals that number departments ("销售一部", "销售二部").
fn is_digit_like(c: char) -> bool {
    c.is_numeric() || "〇零一二三四五六七八九十百千万".contains(c)
}

/// Combining diacritical marks: the accents that NFD splits off Latin, Greek and Cyrillic
/// letters. Other combining marks (Indic vowel signs, viramas…) are letters' parts and stay.
fn is_diacritic(c: char) -> bool {
    matches!(
        c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
    )
}

/// Letters that a reader takes for an accented or doubled Latin letter but that NFD leaves
/// whole (the input is already lower-case).
fn fold_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' => "d",
        'ı' => "i",
        _ => return None,
    })
}

/// For a username key (PRECIS-enforced, so lower-case and NFC), the Latin spelling it imitates:
/// every character of another script (Cyrillic, Greek, Armenian, …) or a Latin letter such as
/// dotless `ı`, whose UTS #39 confusable prototype ([`unicode_security::skeleton`]) is one ASCII
/// letter or digit, is replaced by that character lower-cased (Cyrillic `а` → `a`, Greek `ο` →
/// `o`, Cyrillic `б` → `6`); a non-Latin character whose prototype is such a character plus
/// accents becomes the precomposed accented Latin letter (Cyrillic `ё` → `ë`, Greek `ά` → `á`).
/// Accented Latin letters stay as they are. The engine looks the result up as an existing
/// username key: a hit is a look-alike to flag.
///
/// `None` when the key is ASCII, when nothing changed, or when some non-Latin character has no
/// such look-alike (`и`, `в`, `н`, `λ`, Chinese…): a name written in its own script, like
/// `иван`, imitates nobody. A key made only of look-alikes (Cyrillic `асе`) does give `ace`,
/// because that is exactly a whole-script spoof.
///
/// UTS #39 merges `0`/`O`/`o` and `1`/`l`/`I`, and this returns the letter (`o`, `l`), so a
/// non-ASCII digit that imitates `0` or `1` is looked up as a letter.
pub fn latin_lookalike(username_key: &str) -> Option<String> {
    if username_key.is_ascii() {
        return None;
    }
    let mut out = String::with_capacity(username_key.len());
    let mut changed = false;
    for c in username_key.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        match lookalike_char(c) {
            Some(ascii) => {
                out.push(ascii);
                changed = true;
            }
            None if is_latin(c) => out.push(c),
            None => match accented_lookalike(c) {
                Some(latin) => {
                    out.push(latin);
                    changed = true;
                }
                None => return None,
            },
        }
    }
    changed.then_some(out)
}

/// The ASCII letter or digit (lower-case) whose confusable prototype is exactly `c`'s.
fn lookalike_char(c: char) -> Option<char> {
    let mut buf = [0u8; 4];
    let mut proto = unicode_security::skeleton(c.encode_utf8(&mut buf));
    match (proto.next(), proto.next()) {
        (Some(p), None) if p.is_ascii_alphanumeric() => Some(p.to_ascii_lowercase()),
        _ => None,
    }
}

/// For a non-Latin letter whose prototype is an ASCII letter plus accents, the precomposed
/// Latin letter it looks like (Cyrillic `ё` → `ë`); `None` when no single character composes.
fn accented_lookalike(c: char) -> Option<char> {
    let mut buf = [0u8; 4];
    let mut proto = unicode_security::skeleton(c.encode_utf8(&mut buf));
    let base = proto.next().filter(char::is_ascii_alphabetic)?;
    let mut spelled = String::new();
    spelled.push(base.to_ascii_lowercase());
    for mark in proto {
        if !is_combining_mark(mark) {
            return None;
        }
        spelled.push(mark);
    }
    let mut composed = spelled.nfc();
    match (composed.next(), composed.next()) {
        (Some(latin), None) if !latin.is_ascii() => Some(latin),
        _ => None,
    }
}

/// Letters of the Latin script beyond ASCII (Latin-1 letters, Latin Extended A–E, IPA, phonetic
/// extensions, Latin Extended Additional).
fn is_latin(c: char) -> bool {
    matches!(
        c as u32,
        0xAA | 0xBA
            | 0xC0..=0x24F
            | 0x250..=0x2AF
            | 0x1D00..=0x1DBF
            | 0x1E00..=0x1EFF
            | 0x2C60..=0x2C7F
            | 0xA720..=0xA7FF
            | 0xAB30..=0xAB6F
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Username;

    #[test]
    fn skeletons() {
        assert_eq!(name_skeleton("Customer-Care"), "customercare");
        assert_eq!(name_skeleton(" customer  care "), "customercare");
        assert_eq!(name_skeleton("R & D"), "rd");
        assert_eq!(name_skeleton("R&D"), "rd");
        assert_eq!(name_skeleton("Venté"), "vente");
        assert_eq!(name_skeleton("Vente\u{301}"), "vente");
        assert_eq!(name_skeleton("ＳＡＬＥＳ"), "sales");
        assert_eq!(name_skeleton("Straße"), "strasse");
        assert_eq!(name_skeleton("Møller & Søn"), "mollerson");
        assert_eq!(name_skeleton("C++ / C#"), "c++c#");
        assert_eq!(name_skeleton("Продажи"), "продажи");
        // A Devanagari vowel sign and virama are part of the word, not accents.
        assert_eq!(name_skeleton("क्षेत्र"), "क्षेत्र");
        assert_eq!(name_skeleton("--- ***"), "");
    }

    #[test]
    fn near_duplicates_found() {
        for (a, b) in [
            ("Sales", "Sale"),
            ("Vente", "Venté"),
            ("R&D", "R & D"),
            ("Customer-Care", "Customer Care"),
            ("CustomerCare", "customer care"),
            ("Slaes", "Sales"),
            ("Marketing", "Marketting"),
            ("Straße", "Strasse"),
            ("Admins", "Admin"),
            ("Продажи", "Продажа"),
            ("Team 1", "Team1"),
            ("Sales Team", "Sales Teams"),
            ("Windows10 Admins", "Windows10 Admin"),
        ] {
            assert!(near_duplicate(a, b), "{a} / {b}");
            assert!(near_duplicate(b, a), "{b} / {a}");
        }
    }

    #[test]
    fn near_duplicates_not_found() {
        for (a, b) in [
            // Same entity: caseless keys meet.
            ("Sales", "sales"),
            ("Sales", " SALES "),
            ("Sales", "ＳＡＬＥＳ"),
            ("North  America", "north america"),
            // Short names.
            ("IT", "HR"),
            ("IT", "IS"),
            ("Ops", "Op"),
            // Series.
            ("Team 1", "Team 2"),
            ("Team 9", "Team 10"),
            ("Team", "Team 1"),
            ("Team A", "Team B"),
            ("Team", "Team A"),
            ("Support EU", "Support US"),
            ("Tier I", "Tier II"),
            ("B2B Sales", "B2C Sales"),
            ("Floor 2A", "Floor 2B"),
            ("销售一部", "销售二部"),
            // Different things.
            ("C++ Developers", "C# Developers"),
            ("Sales", "Marketing"),
            ("Finance", "Fiancé Club"),
            // Not names at all.
            ("", ""),
            ("a,b", "a,b"),
            ("---", "***"),
        ] {
            assert!(!near_duplicate(a, b), "{a} / {b}");
            assert!(!near_duplicate(b, a), "{b} / {a}");
        }
    }

    #[test]
    fn lookalikes_of_latin_usernames() {
        assert_eq!(latin_lookalike("alice"), None);
        assert_eq!(latin_lookalike("\u{430}lice"), Some("alice".into()));
        // ѕ е у Cyrillic, r g Latin.
        assert_eq!(
            latin_lookalike("\u{455}\u{435}rg\u{435}\u{443}"),
            Some("sergey".into())
        );
        // Greek omicron.
        assert_eq!(latin_lookalike("b\u{3bf}b"), Some("bob".into()));
        // Whole-script spoof: every Cyrillic letter has a Latin twin.
        assert_eq!(latin_lookalike("\u{430}\u{441}\u{435}"), Some("ace".into()));
        // Dotless i is Latin but still imitates i.
        assert_eq!(latin_lookalike("kad\u{131}n"), Some("kadin".into()));
        // Accents are kept on the Latin side, and a Cyrillic ё imitates a Latin ë.
        assert_eq!(latin_lookalike("\u{430}ndré"), Some("andré".into()));
        assert_eq!(latin_lookalike("zo\u{451}"), Some("zoë".into()));
    }

    #[test]
    fn real_names_in_their_own_script_are_not_lookalikes() {
        // и в н have no ASCII prototype (ᴎ ʙ ʜ), so a Russian name imitates nobody.
        assert_eq!(latin_lookalike("иван"), None);
        assert_eq!(latin_lookalike("ivanов"), None);
        assert_eq!(latin_lookalike("σοφία"), None);
        assert_eq!(latin_lookalike("张伟"), None);
        // Accented Latin names: nothing to replace.
        assert_eq!(latin_lookalike("émile"), None);
        assert_eq!(latin_lookalike("françois.dupré"), None);
    }

    #[test]
    fn keys_from_username_parse() {
        // Fullwidth never reaches the check: PRECIS already maps it to ASCII.
        let wide = Username::parse("ａｌｉｃｅ").unwrap();
        assert_eq!(wide.key(), "alice");
        assert_eq!(latin_lookalike(wide.key()), None);
        // Upper-case Cyrillic is lower-cased by PRECIS, then imitates the Latin key.
        let fake = Username::parse("\u{410}LICE").unwrap();
        assert_eq!(latin_lookalike(fake.key()), Some("alice".into()));
        let real = Username::parse("Иван").unwrap();
        assert_eq!(latin_lookalike(real.key()), None);
    }
}
